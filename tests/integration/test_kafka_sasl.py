"""A whole session through a broker that demands SASL (issue 16, item 6): the MICROTURN_KAFKA_*
settings reach every Kafka client, the worker's faust app included; without them nothing gets in."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra import process
from infra.kafka import MARKER as KAFKA_MARKER
from infra.kafka import KafkaBroker, metadata_ready
from infra.stack import Stack, StackSettings
from infra.triton import TritonServer
from schemas import Topics
from streams import kafka_security
from streams.log import read_topics
from streams.publish import publish_file
from streams.tail import OutputTail, sessions_complete
from tests.conftest import CACHE_DIR
from tests.integration.test_end_to_end import write_wav

SASL = {
    "MICROTURN_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
    "MICROTURN_KAFKA_SASL_MECHANISM": "PLAIN",
    "MICROTURN_KAFKA_SASL_USERNAME": "svc",
    "MICROTURN_KAFKA_SASL_PASSWORD": "svc-secret",
}


@pytest.fixture
def sasl_stack(
    tmp_path: Path, triton_server: TritonServer, topic_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Stack, str]]:
    """A broker of its own that only lets SASL users in, and a worker for it (both stopped after)."""
    for name, value in SASL.items():
        monkeypatch.setenv(name, value)
    kafka_security.security.cache_clear()
    broker = KafkaBroker(
        tmp_path / "kafka", process.free_port(), process.free_port(), (("admin", "admin-secret"), ("svc", "svc-secret"))
    )
    pid = broker.start(CACHE_DIR)
    stack = Stack(
        StackSettings(
            state_dir=tmp_path / "stack",
            cache_dir=CACHE_DIR,
            kafka=broker.bootstrap,
            triton=triton_server.grpc_url,
            topic_prefix=topic_prefix,
        )
    )
    try:
        stack.up(say=lambda _: None)
        yield stack, broker.bootstrap
    finally:
        stack.down(say=lambda _: None)
        process.stop(pid, KAFKA_MARKER)
        monkeypatch.undo()
        kafka_security.security.cache_clear()


async def test_a_session_runs_through_a_sasl_broker(
    sasl_stack: tuple[Stack, str], topic_prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, bootstrap = sasl_stack
    topics = Topics(topic_prefix)
    async with OutputTail(bootstrap, topics.output) as capture:
        summary = await publish_file(bootstrap, topics, write_wav(tmp_path / "a.wav", 1.0, 220.0), "sasl")
        await capture.until(sessions_complete([summary.session_id]), timeout_s=120)
    assert [c.output.seq for c in capture.outputs[summary.session_id]] == list(range(summary.audio_chunks))
    assert await read_topics(bootstrap, [topics.dlq]) == []

    # Without the settings a client is not let in (so the settings were what made the above work).
    monkeypatch.delenv("MICROTURN_KAFKA_SECURITY_PROTOCOL")
    kafka_security.security.cache_clear()
    assert not await asyncio.to_thread(metadata_ready, bootstrap, 3.0)
