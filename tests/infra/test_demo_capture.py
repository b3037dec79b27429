"""`microturn demo`'s capture: the sample call streamed in real time, every output tailed by key."""

from __future__ import annotations

from infra.cli.stream_commands import SAMPLE_CALL, _demo
from infra.stack import Stack


async def test_the_demo_captures_one_output_per_turn_of_its_own_session(
    pipeline: Stack, kafka_bootstrap: str, topic_prefix: str
) -> None:
    doc = await _demo(kafka_bootstrap, topic_prefix, SAMPLE_CALL, "demo-capture", quiet=True, timeout_s=120)
    assert doc["session_id"] == "demo-capture"
    assert doc["turns"] == doc["input"]["audio_chunks"] == 29  # 5.65 s: 28 full turns and a padded last one
    assert sum(doc["actions"].values()) == doc["turns"]
