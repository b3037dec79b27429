"""Turn-taking through the real broker, worker and Triton: the harness model on the same contract,
per-session model selection, then `eval`, what-if `replay --model harness` and the
Full-Duplex-Bench export of the streamed sessions."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from inference.client import InteractionClient
from inference.harness import Harness, HarnessSettings
from inference.loading import REPOSITORY, repository_params
from inference.network.turns import TurnInput
from inference.training.speech import dialogue, write
from infra.cli.main import main
from infra.stack import Stack, StackSettings
from infra.triton import TritonServer
from replay.evaluation import LABELS_KEY
from schemas import DeadLetter, ModelOutput, Topics
from streams.log import read_topics
from streams.publish import publish_file
from streams.tail import OutputTail, sessions_complete
from tests.conftest import CACHE_DIR, unique_prefix

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (make setup)")


async def test_the_harness_model_on_triton_answers_like_the_harness_offline(triton_server: TritonServer) -> None:
    harness = Harness(HarnessSettings.from_params(repository_params(REPOSITORY / "harness")))
    state = harness.new_state()
    item = dialogue("heldout", 1)
    pcm = item.audio[: 40 * 3200]
    client = InteractionClient(triton_server.grpc_url)
    try:
        for k in range(40):
            audio = pcm[k * 3200 : (k + 1) * 3200]
            got = await client.step(
                "harness-contract", TurnInput("harness-contract", k, audio, None), k == 0, k == 39, model="harness"
            )
            want = harness.step(state, k, audio)
            assert (got.action, got.text, got.model_version) == (int(want.action), want.text, harness.version)
            assert np.array_equal(got.audio, want.audio)
    finally:
        await client.close()


@dataclass(frozen=True)
class Streamed:
    flags: list[str]
    kafka: str
    topics: Topics
    moments: list[dict[str, int | str]]


async def _stream(kafka: str, topics: Topics, wav: Path, labels: str) -> None:
    ids = ["by-harness", "by-tiny", "by-nobody"]
    async with OutputTail(kafka, topics.output) as capture:
        await asyncio.gather(
            publish_file(kafka, topics, wav, ids[0], metadata={"model": "harness", LABELS_KEY: labels}),
            publish_file(kafka, topics, wav, ids[1], metadata={LABELS_KEY: labels}),
        )
        await capture.until(sessions_complete(ids[:2]), timeout_s=120)
    await publish_file(kafka, topics, wav, ids[2], metadata={"model": "gpt-9"})


@pytest.fixture(scope="module")
def streamed(
    run_dir: Path, kafka_bootstrap: str, triton_server: TritonServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Streamed]:
    prefix = unique_prefix("turn-taking")
    settings = StackSettings(run_dir / "stacks" / prefix, CACHE_DIR, kafka_bootstrap, triton_server.grpc_url, prefix)
    stack = Stack(settings)
    stack.up(say=lambda _: None)
    try:
        item = dialogue("heldout", 4)
        wav = write(item, tmp_path_factory.mktemp("corpus"))
        asyncio.run(_stream(kafka_bootstrap, Topics(prefix), wav, item.labels_json()))
        flags = ["--kafka", kafka_bootstrap, "--topic-prefix", prefix, "--state-dir", str(settings.state_dir)]
        yield Streamed(flags, kafka_bootstrap, Topics(prefix), item.moments)
    finally:
        stack.down(say=lambda _: None)


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any], str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, json.loads(out) if "--json" in argv and out.strip() else {"text": out}, err


async def _outputs(streamed: Streamed) -> list[Any]:
    records = await read_topics(
        streamed.kafka, [streamed.topics.output, streamed.topics.dlq], streamed.topics.partitions
    )
    return [r.event for r in records]


def test_each_session_runs_on_the_model_it_selected_and_an_unknown_one_is_dead_lettered(streamed: Streamed) -> None:
    events = asyncio.run(_outputs(streamed))
    versions = {
        s: {e.model_version for e in events if isinstance(e, ModelOutput) and e.session_id == s}
        for s in ("by-harness", "by-tiny")
    }
    assert len(versions["by-harness"]) == 1 and next(iter(versions["by-harness"])).startswith("harness-vad700-")
    assert len(versions["by-tiny"]) == 1 and next(iter(versions["by-tiny"])).startswith("tiny-")
    assert not [e for e in events if isinstance(e, ModelOutput) and e.session_id == "by-nobody"]
    # the unknown model's turns arrive at the DLQ as the worker gets to them
    for _ in range(60):
        rejected = [e for e in events if isinstance(e, DeadLetter) and e.session_id == "by-nobody"]
        if rejected:
            break
        time.sleep(1.0)
        events = asyncio.run(_outputs(streamed))
    assert (
        rejected and "session selected model 'gpt-9'; expected one of ['interaction', 'harness']" in rejected[0].reason
    )


def test_eval_scores_the_recorded_sessions_and_a_what_if_harness(
    streamed: Streamed, capsys: pytest.CaptureFixture[str]
) -> None:
    code, doc, err = cli(capsys, "eval", "by-harness", "--source", "kafka", *streamed.flags, "--json")
    assert code == 0, err
    assert doc["labelled_sessions"] == 1 and doc["versions"][0].startswith("harness-vad700-")
    turn_ends = sum(m["kind"] == "turn_end" for m in streamed.moments)
    assert doc["smooth_turn_taking"]["turn_ends"] == turn_ends
    assert 0.55 <= doc["smooth_turn_taking"]["latency_s"]["mean"] <= 1.0
    code, what_if, err = cli(
        capsys, "eval", "by-tiny", "--source", "kafka", "--model", "harness", *streamed.flags, "--json"
    )
    assert code == 0, err
    for key in ("pause", "backchannel", "smooth_turn_taking", "interruption"):
        assert what_if[key] == doc[key]  # same audio, same harness: same figures
    code, human, _ = cli(capsys, "eval", "by-tiny", "--source", "kafka", *streamed.flags)
    assert code == 0 and "smooth turn-taking  takeover rate" in human["text"]
    code, _, err = cli(capsys, "eval", "--source", "kafka", *streamed.flags)
    assert code == 2 and "give SESSION ids or --fleet" in err


def test_replay_what_if_harness_on_a_harness_session_is_identical(
    streamed: Streamed, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, doc, err = cli(capsys, "replay", "by-harness", *streamed.flags, "--model", "harness", "--json")
    assert code == 0, err
    assert doc["identical"] and doc["turns_changed"] == 0
    code, doc, err = cli(capsys, "replay", "by-tiny", *streamed.flags, "--model", "harness", "--json")
    assert code == 0 and doc["turns_changed"] > 0
    code, doc, err = cli(
        capsys, "export", "by-tiny", str(tmp_path), "--format", "full-duplex-bench", *streamed.flags, "--json"
    )
    assert code == 0, err
    expected = {"input.wav", "output.wav", "microturn.json", "turn_taking.json"}
    if any(m["kind"] == "interruption" for m in streamed.moments):
        expected.add("interrupt.json")
    assert {p.name for p in (tmp_path / "by-tiny").iterdir()} == expected
