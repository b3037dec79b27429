"""Prometheus metrics of every long-running microturn process, and the endpoint that serves them.

One registry per process (prometheus-client's default). The per-turn cost is one counter increment
and a few histogram observations on label children bound at import; no label carries a session id,
so cardinality stays bounded (stages, steps, exception classes, partitions).

`serve_metrics()` starts the /metrics endpoint on $MICROTURN_METRICS_ADDRESS (default 127.0.0.1)
and $MICROTURN_METRICS_PORT (default: a free port; `microturn up` chooses one and passes it in, so
`status` can list it; "off" serves nothing).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from typing import Any

import structlog
from prometheus_client import Counter, Gauge, Histogram, start_http_server

from schemas.errors import ConfigError

log = structlog.get_logger(__name__)

PORT_ENV = "MICROTURN_METRICS_PORT"
ADDRESS_ENV = "MICROTURN_METRICS_ADDRESS"

TURNS = Counter("microturn_turns", "Micro-turns answered: a ModelOutput queued for the output topic.")
TURNS_ASSEMBLED = Counter("microturn_turns_assembled", "Micro-turns closed by the assembler and queued.")
LATENCY = Histogram(
    "microturn_turn_latency_seconds",
    "Wall-clock latency of a micro-turn by stage: ingest_to_assembled (input produced -> MicroTurn sent), "
    "model (the Triton request), assembled_to_emitted (MicroTurn sent -> ModelOutput sent), "
    "ingest_to_emitted (input produced -> ModelOutput sent).",
    ["stage"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.6, 0.8, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0),
)
_INGEST_TO_ASSEMBLED = LATENCY.labels("ingest_to_assembled")
_MODEL = LATENCY.labels("model")
_ASSEMBLED_TO_EMITTED = LATENCY.labels("assembled_to_emitted")
_INGEST_TO_EMITTED = LATENCY.labels("ingest_to_emitted")
LIVE_SESSIONS = Gauge("microturn_live_sessions", "Sessions open in this process (assembling, or live calls).")
DEAD_LETTERS = Counter(
    "microturn_dead_letters",
    "Records sent to the dead-letter topic, by step and reason (an exception class, or `rejected`).",
    ["step", "reason"],
)
CONSUMER_LAG = Gauge(
    "microturn_consumer_lag",
    "Records not yet consumed (high water - position), per assigned partition; sampled periodically.",
    ["group", "topic", "partition"],
)
BACKGROUND_TASKS = Counter("microturn_background_tasks", "Background tasks finished, by outcome.", ["outcome"])
INGRESS_CALLS = Counter("microturn_ingress_calls", "Calls admitted by an ingress server.", ["protocol"])
INGRESS_REJECTIONS = Counter(
    "microturn_ingress_rejections",
    "Connections and calls an ingress server refused or ended early, by reason (HTTP status or CallRejected class).",
    ["protocol", "reason"],
)
ARCHIVED_RECORDS = Counter("microturn_archived_records", "Records written to the Parquet archive.")

_EXCEPTION_NAME = re.compile(r"\(([A-Za-z_][A-Za-z0-9_]{0,60})\)")


def turn_assembled(ingest_wall_time_ns: int, sent_wall_time_ns: int) -> None:
    """A MicroTurn was queued at `sent_wall_time_ns`; its latest input was produced at the other time."""
    TURNS_ASSEMBLED.inc()
    if ingest_wall_time_ns:
        _INGEST_TO_ASSEMBLED.observe(max(sent_wall_time_ns - ingest_wall_time_ns, 0) / 1e9)


def turn_answered(ingest_wall_time_ns: int, turn_wall_time_ns: int, model_ms: float, output_wall_time_ns: int) -> None:
    """A ModelOutput was queued: count the turn and observe its stages (zero times are unknown, skipped)."""
    TURNS.inc()
    _MODEL.observe(model_ms / 1000.0)
    if turn_wall_time_ns:
        _ASSEMBLED_TO_EMITTED.observe(max(output_wall_time_ns - turn_wall_time_ns, 0) / 1e9)
    if ingest_wall_time_ns:
        _INGEST_TO_EMITTED.observe(max(output_wall_time_ns - ingest_wall_time_ns, 0) / 1e9)


def dead_lettered(step: str, reason: str) -> None:
    """Count one dead letter; the reason label is the exception class named in `reason`, else `rejected`."""
    found = _EXCEPTION_NAME.search(reason)
    DEAD_LETTERS.labels(step, found.group(1) if found else "rejected").inc()


def track_live_sessions(count: Callable[[], float]) -> None:
    """Report `count()` as this process's live sessions (called at scrape time, not per turn)."""
    LIVE_SESSIONS.set_function(count)


def serve_metrics(environ: dict[str, str] | None = None) -> int | None:
    """Start this process's /metrics endpoint (a daemon thread); its port, or None when switched off."""
    env = os.environ if environ is None else environ
    wanted = env.get(PORT_ENV, "") or "0"
    if wanted == "off":
        return None
    address = env.get(ADDRESS_ENV, "") or "127.0.0.1"
    try:
        port = int(wanted)
    except ValueError:
        raise ConfigError(f"metrics: {PORT_ENV} must be a port number or 'off'; got {wanted!r}") from None
    server, _thread = start_http_server(port, addr=address)
    bound: int = server.server_port
    log.info("metrics_serving", url=f"http://{address}:{bound}/metrics")
    return bound


async def sample_consumer_lag(group: str, consumer: Any) -> None:
    """Set `microturn_consumer_lag` for each partition `consumer` holds (an aiokafka consumer or faust's:
    both have `assignment()`, `highwater(tp)` and `await position(tp)`). Call it every few seconds."""
    for tp in list(consumer.assignment()):
        high = consumer.highwater(tp)
        position = await consumer.position(tp)
        if high is None or position is None:
            continue
        CONSUMER_LAG.labels(group, tp.topic, str(tp.partition)).set(max(high - position, 0))


REDACTIONS = Counter(
    "microturn_redactions",
    "Findings redacted before they were produced, by where (caller_text, speaker, dtmf, metadata, model, background, "
    "dead_letter, audio) and rule (card, cvv, email, phone, iban, a configured pattern, masked_keys, masked_chunks).",
    ["source", "rule"],
)


def redacted(source: str, counts: Mapping[str, int]) -> None:
    """Count the findings of one redaction (`counts`: by rule); nothing when there were none."""
    for rule, count in counts.items():
        REDACTIONS.labels(source, rule).inc(count)
