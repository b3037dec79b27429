"""The `interaction` model through the real Triton server: batch invariance, lost sequences, order."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import numpy as np
import pytest
import tritonclient.grpc.aio as grpcclient

from inference.client import InteractionClient, TurnResult
from inference.errors import BadRequest, OutOfOrder, SequenceLost
from inference.network.turns import TurnInput
from infra.triton import TritonServer

TURNS = 8


def request(turn: int, seed: int) -> TurnInput:
    rng = np.random.default_rng(seed * 1000 + turn)
    loud = (seed + turn) % 3 != 0
    audio = (rng.standard_normal(3200) * (6000 if loud else 30)).astype(np.int16)
    video = rng.integers(0, 255, (80, 80, 3), dtype=np.uint8) if turn % 2 else None
    return TurnInput(f"seed{seed}", turn, audio, video, f"t{turn}".encode() if turn % 3 == 0 else b"")


async def run(client: InteractionClient, session: str, seed: int, delay_s: float = 0.0) -> list[TurnResult]:
    results = []
    for turn in range(TURNS):
        await asyncio.sleep(delay_s)
        results.append(await client.step(session, request(turn, seed), start=turn == 0, end=turn == TURNS - 1))
    return results


@pytest.fixture
async def client(triton_server: TritonServer) -> AsyncIterator[InteractionClient]:
    c = InteractionClient(triton_server.grpc_url)
    yield c
    await c.close()


async def batching_counts(url: str) -> tuple[int, int]:
    stats_client = grpcclient.InferenceServerClient(url)
    try:
        stats = await stats_client.get_inference_statistics("interaction", as_json=True)
    finally:
        await stats_client.close()
    model = stats["model_stats"][0]
    return int(model.get("inference_count", 0)), int(model.get("execution_count", 0))


async def test_a_session_alone_and_batched_with_others_in_any_order_gives_identical_outputs(
    client: InteractionClient, triton_server: TritonServer, topic_prefix: str
) -> None:
    session = f"{topic_prefix}-inv"
    alone = await run(client, session, seed=1)
    before = await batching_counts(triton_server.grpc_url)
    crowd = [
        run(client, f"{topic_prefix}-other{i}", seed=10 + i, delay_s=random.Random(i).random() / 50) for i in range(7)
    ]
    batched, *_ = await asyncio.gather(run(client, session, seed=1), *crowd)
    after = await batching_counts(triton_server.grpc_url)
    inferences, executions = after[0] - before[0], after[1] - before[1]
    assert inferences == 8 * TURNS and executions < inferences  # Triton really put sessions in one batch
    for turn, (a, b) in enumerate(zip(alone, batched, strict=True)):
        assert (a.action, a.text, a.delegate, a.model_version) == (b.action, b.text, b.delegate, b.model_version), turn
        assert np.array_equal(a.audio, b.audio), turn
    assert len({r.action for r in alone}) > 1  # the inputs exercise more than one action


async def test_a_step_for_a_sequence_the_server_does_not_have_is_sequence_lost(
    client: InteractionClient, topic_prefix: str
) -> None:
    with pytest.raises(SequenceLost):
        await client.step(f"{topic_prefix}-never-started", request(3, 0), start=False, end=False)
    await run(client, f"{topic_prefix}-ended", seed=2)
    with pytest.raises(SequenceLost):  # END freed it: continuing is an error, never a silent fresh start
        await client.step(f"{topic_prefix}-ended", request(TURNS, 2), start=False, end=False)


async def test_a_skipped_turn_is_refused_as_out_of_order(client: InteractionClient, topic_prefix: str) -> None:
    session = f"{topic_prefix}-skip"
    await client.step(session, request(0, 3), start=True, end=False)
    with pytest.raises(OutOfOrder, match="expects turn 1; got turn 2"):
        await client.step(session, request(2, 3), start=False, end=False)
    await client.step(session, request(1, 3), start=False, end=True)


async def test_a_frame_of_any_size_is_resized_by_the_model_and_absurd_sizes_are_bad_requests(
    client: InteractionClient, topic_prefix: str
) -> None:
    """config.pbtxt declares VIDEO [-1, -1, 3]: the model takes any frame up to 2048 pixels a side
    and resizes it deterministically to its input size (nearest pixel centre, `fit_frame`)."""
    from inference.network.vision import fit_frame

    session, rng = f"{topic_prefix}-frame", np.random.default_rng(5)
    audio = np.zeros(3200, dtype=np.int16)
    frame = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    results = []
    for video in (frame, fit_frame(frame, 80)):
        results.append(await client.step(session, TurnInput(session, 0, audio, video, b"hi"), start=True, end=True))
    large, fitted = results
    assert (large.action, large.text, large.delegate) == (fitted.action, fitted.text, fitted.delegate)
    assert np.array_equal(large.audio, fitted.audio)
    hostile = TurnInput(session, 0, audio, None)  # as another client might send it, unchecked:
    object.__setattr__(hostile, "video", np.zeros((1, 2049, 3), np.uint8))
    with pytest.raises(BadRequest, match=r"video: expected uint8 \[H, W, 3\] with 1 <= H, W <= 2048"):
        await client.step(session, hostile, start=True, end=True)
    await client.step(session, TurnInput(session, 0, audio, None), start=True, end=True)  # the server is fine
