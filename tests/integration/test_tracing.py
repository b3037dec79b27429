"""One trace per micro-turn across the producer, assembler, interaction, Triton call and emit,
linked by `traceparent` headers on the Kafka records (issue 16, item 2)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.stack import Stack, StackSettings
from infra.triton import TritonServer
from schemas import Topics
from schemas.errors import ConfigError
from streams import tracing
from streams.publish import publish_file
from streams.tail import OutputTail, sessions_complete
from tests.conftest import CACHE_DIR
from tests.integration.test_end_to_end import write_wav


@pytest.fixture
def traced_pipeline(
    run_dir: Path, kafka_bootstrap: str, triton_server: TritonServer, topic_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Stack, Path]]:
    """A worker with MICROTURN_TRACING=file:..., and tracing on in this (the producing) process."""
    spans = run_dir / "stacks" / f"{topic_prefix}-spans.jsonl"
    monkeypatch.setenv(tracing.ENV, f"file:{spans}")
    stack = Stack(
        StackSettings(
            state_dir=run_dir / "stacks" / topic_prefix,
            cache_dir=CACHE_DIR,
            kafka=kafka_bootstrap,
            triton=triton_server.grpc_url,
            topic_prefix=topic_prefix,
        )
    )
    stack.up(say=lambda _: None)
    assert tracing.setup("test")
    try:
        yield stack, spans
    finally:
        tracing.shutdown()
        stack.down(say=lambda _: None)


def _spans(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


async def test_each_turn_is_one_trace_from_producer_to_emit(
    traced_pipeline: tuple[Stack, Path], topic_prefix: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    _, path = traced_pipeline
    topics = Topics(topic_prefix)
    async with OutputTail(kafka_bootstrap, topics.output) as capture:
        summary = await publish_file(kafka_bootstrap, topics, write_wav(tmp_path / "a.wav", 1.0, 220.0), "traced")
        await capture.until(sessions_complete([summary.session_id]), timeout_s=120)
    tracing.shutdown()  # flush this process's producer spans
    wanted = {"produce audio_chunk", "assemble", "interact", "triton", "emit"}
    for _ in range(60):  # the worker exports in batches
        spans = _spans(path)
        if sum(span["name"] in wanted for span in spans) >= len(wanted) * summary.audio_chunks:
            break
        await asyncio.sleep(0.5)
    for turn in range(summary.audio_chunks):
        trace_id, root = tracing.turn_ids(summary.session_id, turn)
        mine = {s["name"]: s for s in spans if s["context"]["trace_id"] == f"0x{trace_id:032x}"}
        assert wanted <= set(mine), (turn, sorted(mine))
        span_id = {name: span["context"]["span_id"] for name, span in mine.items()}
        assert mine["produce audio_chunk"]["parent_id"] == f"0x{root:016x}"
        assert mine["assemble"]["parent_id"] == f"0x{root:016x}"
        assert mine["interact"]["parent_id"] == span_id["assemble"]  # via the MicroTurn record's header
        assert mine["triton"]["parent_id"] == span_id["interact"]
        assert mine["emit"]["parent_id"] == span_id["interact"]
        assert mine["interact"]["attributes"]["microturn.session_id"] == summary.session_id
        assert {
            mine["produce audio_chunk"]["resource"]["attributes"]["service.name"],
            mine["emit"]["resource"]["attributes"]["service.name"],
        } == {"microturn-test", "microturn-worker"}


def test_tracing_is_off_and_free_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(tracing.ENV, raising=False)
    assert not tracing.setup("test") and not tracing.enabled()
    with tracing.span("x", "s1", 0) as headers:
        assert headers == []
    with pytest.raises(ConfigError, match="must be off, console, otlp or file:PATH"):
        tracing.setup("test", {tracing.ENV: "jaeger"})
