"""The faust app: inputs -> assembler -> turns -> interaction -> output (+ background agent).

Delivery: at-least-once with deterministic event ids and deduplicating consumers; faust's
exactly-once mode is not used (it has open reports of duplicates and fencing crashes on
rebalance). For every record the order is: compute (pure) -> queue what it produces -> update
the in-memory state -> ack the record; faust commits acked offsets only after flushing its
producer, so an offset is committed only once everything its record produced is durable.
State is rebuilt on first contact with a partition from its latest checkpoint and the log after it
(processors/recovery.py, processors/checkpoint.py). A MicroTurn is also handed to the interaction
step in process, and its output waits for the MicroTurn's ack (processors/agents.py `Work`). So a
crash at any point either re-sends an output with the same event id (consumers drop it: the
interaction skips answered turns, replay and analytics keep the first) or skips a record whose
effects are already in the log. Nothing is lost.
"""

from __future__ import annotations

from typing import Any

import faust
from faust.types import TP

from processors.agents import Agents
from processors.settings import WorkerSettings
from streams import metrics
from streams.kafka_security import security

TICK_S = 0.2
LAG_SAMPLE_S = 5.0


def create_app(settings: WorkerSettings) -> faust.App:
    """The worker app for `settings`, with its agents and ticker registered."""
    topics = settings.topics
    app = faust.App(
        settings.app_id,
        broker=f"kafka://{settings.kafka}",
        store="memory://",
        datadir=str(settings.state_dir / "faust"),
        web_enabled=False,
        topic_partitions=topics.partitions,
        topic_allow_declare=True,  # only faust's internal topics: ours exist before any worker starts
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        # Gather the records of concurrent sessions into one produce request per partition (broker
        # CPU) for at most 2 ms of a turn's latency (docs/performance.md).
        producer_linger=0.002,
        # A killed worker's partitions move to its replacement after this long, not faust's 60 s.
        broker_session_timeout=10.0,
        broker_heartbeat_interval=2.0,
        key_serializer="raw",
        value_serializer="raw",
        broker_credentials=security().faust_credentials(),  # TLS/SASL to external clusters (None: plaintext)
    )
    agents = Agents(app, settings)
    app.agent(app.topic(topics.session, topics.audio, topics.video, topics.text, topics.background_results))(
        agents.assemble
    )
    app.task(agents.start)
    app.timer(TICK_S)(agents.tick)
    app.timer(settings.checkpoint_s)(agents.checkpoint)
    app.agent(agents.turns_topic)(agents.interact)
    app.agent(agents.tasks_topic)(agents.background)

    async def sample_lag() -> None:
        await metrics.sample_consumer_lag(settings.app_id, app.consumer)

    app.timer(LAG_SAMPLE_S)(sample_lag)

    # faust sends each signal as receiver(app, partitions, signal=...).
    @app.on_partitions_revoked.connect
    async def on_revoked(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        revoked: set[TP] = args[0]
        await agents.on_revoked(revoked)

    @app.on_partitions_assigned.connect
    async def on_assigned(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        assigned: set[TP] = args[0]
        await agents.on_assigned(assigned)

    return app
