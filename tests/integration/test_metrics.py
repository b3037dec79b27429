"""A worker's /metrics counts the real turns of a real session (issue 16, item 1)."""

from __future__ import annotations

import asyncio
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from infra.stack import Stack
from schemas import Topics
from streams.publish import publish_file
from streams.tail import OutputTail, sessions_complete
from tests.integration.test_end_to_end import write_wav


def scrape(url: str) -> tuple[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]]:
    """The page at `url` and its samples by (name, sorted labels)."""
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    return text, samples


async def test_worker_metrics_count_the_turns_of_a_real_session(
    pipeline: Stack, topic_prefix: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    topics = Topics(topic_prefix)
    status = await asyncio.to_thread(pipeline.status)
    assert status["metrics"] == [status["workers"][0]["metrics"]]  # external Triton: no Triton metrics of ours
    url = status["metrics"][0]
    _, before = scrape(url)
    assert before[("microturn_turns_total", ())] == 0

    async with OutputTail(kafka_bootstrap, topics.output) as capture:
        summary = await publish_file(kafka_bootstrap, topics, write_wav(tmp_path / "a.wav", 2.1, 220.0), "metrics")
        await capture.until(sessions_complete([summary.session_id]), timeout_s=120)
    turns = summary.audio_chunks
    assert turns == 11

    lag_seen = False
    for _ in range(60):  # lag is sampled every 5 s, not per record
        text, after = scrape(url)
        lag_seen = any(name == "microturn_consumer_lag" for name, _ in after)
        if lag_seen and after[("microturn_turns_total", ())] == turns:
            break
        await asyncio.sleep(0.5)
    print(text)  # the closing note's scrape
    assert after[("microturn_turns_total", ())] == turns
    assert after[("microturn_turns_assembled_total", ())] == turns
    for stage in ("ingest_to_assembled", "model", "assembled_to_emitted", "ingest_to_emitted"):
        count = after[("microturn_turn_latency_seconds_count", (("stage", stage),))]
        assert count == turns, stage
        assert after[("microturn_turn_latency_seconds_sum", (("stage", stage),))] > 0, stage
    assert after[("microturn_live_sessions", ())] == 0  # the session ended
    assert not [key for key in after if key[0] == "microturn_dead_letters_total"]
    assert lag_seen
    lag = {dict(labels)["topic"] for name, labels in after if name == "microturn_consumer_lag"}
    assert topics.turns in lag and topics.audio in lag
