"""The metrics helpers: bounded labels, the endpoint's settings, outcome counting (issue 16, item 1)."""

from __future__ import annotations

import urllib.request

import pytest
from prometheus_client import REGISTRY

from processors.background import BackgroundAgent, SessionFacts
from schemas import BackgroundResult, BackgroundTask
from schemas.errors import ConfigError
from streams import metrics
from tests.processors.background.test_agent import no_text, task


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_dead_letter_reasons_are_exception_classes_or_rejected() -> None:
    before = value("microturn_dead_letters_total", step="worker:interaction", reason="SequenceLost")
    metrics.dead_lettered("worker:interaction", "model step failed (SequenceLost): session s-123 turn 7 lost")
    metrics.dead_lettered("worker:assembler", "expected the record key to be the session id 's-1'; got b'x'")
    assert value("microturn_dead_letters_total", step="worker:interaction", reason="SequenceLost") == before + 1
    assert value("microturn_dead_letters_total", step="worker:assembler", reason="rejected") >= 1
    assert (
        not [  # no session id ever becomes a label value
            s for m in REGISTRY.collect() for s in m.samples if "s-1" in "".join(map(str, s.labels.values()))
        ]
    )


def test_a_turn_is_counted_once_and_observed_per_stage() -> None:
    turns = value("microturn_turns_total")
    model = value("microturn_turn_latency_seconds_count", stage="model")
    ingest = value("microturn_turn_latency_seconds_count", stage="ingest_to_emitted")
    metrics.turn_answered(1_000_000_000, 1_100_000_000, 12.5, 1_150_000_000)
    metrics.turn_answered(0, 0, 3.0, 1_150_000_000)  # unknown wall times are not observed as 1.15 s
    assert value("microturn_turns_total") == turns + 2
    assert value("microturn_turn_latency_seconds_count", stage="model") == model + 2
    assert value("microturn_turn_latency_seconds_count", stage="ingest_to_emitted") == ingest + 1


def test_the_endpoint_serves_on_the_given_port_or_is_off() -> None:
    assert metrics.serve_metrics({metrics.PORT_ENV: "off"}) is None
    with pytest.raises(ConfigError, match="MICROTURN_METRICS_PORT must be a port number or 'off'; got 'x'"):
        metrics.serve_metrics({metrics.PORT_ENV: "x"})
    port = metrics.serve_metrics({})
    assert port
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        assert b"microturn_turns_total" in response.read()


async def test_background_tasks_are_counted_by_outcome() -> None:
    async def deliver(t: BackgroundTask, r: BackgroundResult) -> None:
        return None

    class Broken:
        name = "broken"

        async def run(self, text: str, context: object) -> str:
            raise RuntimeError("down")

    before = {o: value("microturn_background_tasks_total", outcome=o) for o in ("ok", "error")}
    agent = BackgroundAgent(SessionFacts(no_text), deliver, fallback=Broken())
    await agent.run_one(task("compute 2 + 2"))
    await agent.run_one(task("something only the fallback gets"))
    assert value("microturn_background_tasks_total", outcome="ok") == before["ok"] + 1
    assert value("microturn_background_tasks_total", outcome="error") == before["error"] + 1
