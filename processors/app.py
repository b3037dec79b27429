"""The faust app: inputs -> assembler -> turns -> interaction -> output (+ background agent).

Delivery: at-least-once with deterministic event ids and deduplicating consumers; faust's
exactly-once mode is not used (it has open reports of duplicates and fencing crashes on
rebalance). For every record the order is: compute (pure) -> send what it produces and wait for
the broker's ack -> update the in-memory state -> ack the record (faust commits acked offsets,
after flushing its producer). State is rebuilt from the log on first sight of a session
(processors/recovery.py). So a crash at any point either re-sends an output with the same event
id (consumers drop it: the interaction skips answered turns, replay and analytics keep the first)
or skips a record whose effects are already in the log. Nothing is lost.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import faust
import msgspec
import structlog

from inference.client import InteractionClient
from inference.errors import InferenceError
from processors.assembler import SessionAssembly, TurnAssembler
from processors.recovery import answered_up_to, first_per_turn, load_assembly
from processors.background import BackgroundAgent, SessionFacts
from processors.background.llm import ChatCompletions
from processors.deadletter import dead_letter
from processors.interaction import Interaction
from processors.lanes import Lanes
from processors.settings import WorkerSettings
from replay.log import read_topics
from schemas import (
    AudioChunk,
    BackgroundResult,
    BackgroundTask,
    DecodeError,
    Event,
    MicroTurn,
    SessionEnded,
    SessionStarted,
    TextEvent,
    VideoFrame,
    decode,
    encode,
)
from schemas.codec import decode_as, session_key

log = structlog.get_logger(__name__)
_INPUTS = (SessionStarted, AudioChunk, VideoFrame, TextEvent, BackgroundResult, SessionEnded)
TICK_S = 0.2


def create_app(settings: WorkerSettings) -> faust.App:
    """The worker app for `settings`, with its agents, tables and ticker registered."""
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
        # A killed worker's partitions move to its replacement after this long, not faust's 60 s.
        broker_session_timeout=10.0,
        broker_heartbeat_interval=2.0,
        key_serializer="raw",
        value_serializer="raw",
    )
    inputs = app.topic(topics.session, topics.audio, topics.video, topics.text, topics.background_results)
    turns_topic, output_topic = app.topic(topics.turns), app.topic(topics.output)
    tasks_topic, results_topic, dlq_topic = app.topic(topics.background_tasks), app.topic(topics.background_results), app.topic(topics.dlq)
    assembly: dict[str, SessionAssembly] = {}  # live sessions; rebuilt from the log on first sight
    answered: dict[str, int] = {}  # session -> highest turn whose output the broker acknowledged
    assembler = TurnAssembler()
    ticking: dict[str, int] = {}  # ticker-clocked sessions -> wall ns when their SessionStarted was seen

    async def send(topic: Any, event: Event) -> None:
        """Send and wait for the broker's ack."""
        await (await topic.send(key=session_key(event.session_id), value=encode(event)))

    async def reject(record: Any, reason: str, agent: str) -> None:
        msg = record.message
        log.warning("dead_letter", topic=msg.topic, partition=msg.partition, offset=msg.offset, reason=reason)
        await send(dlq_topic, dead_letter(msg.topic, msg.partition, msg.offset, msg.key, msg.value, reason, agent))

    async def emit_turns(turns: Sequence[MicroTurn]) -> None:
        for turn in turns:
            await send(turns_topic, msgspec.structs.replace(turn, wall_time_ns=time.time_ns()))

    @app.agent(inputs)
    async def assemble(stream: faust.StreamT[bytes]) -> None:
        async for record in stream.events():
            try:
                event = decode(record.value)
                if not isinstance(event, _INPUTS):
                    raise DecodeError(f"expected an input event; got a {type(event).__name__}")
            except DecodeError as exc:
                await reject(record, str(exc), "worker:assembler")
                continue
            state = assembly.get(event.session_id)
            if state is None:
                state, closed = await load_assembly(
                    settings.kafka, topics, event.session_id, record.message.partition, assembler
                )
                assembly[event.session_id] = state
                await emit_turns(closed)
            applied = assembler.apply(state, event)  # type: ignore[arg-type]
            await emit_turns(applied.turns)
            if applied.rejected and isinstance(event, BackgroundResult):
                log.info("background_result_undelivered", session_id=event.session_id, task_id=event.task_id)
            elif applied.rejected:
                await reject(record, applied.rejected, "worker:assembler")
            if state.clock == "ticker" and not state.finished:
                ticking.setdefault(event.session_id, time.time_ns())
            if state.finished:  # keep a light tombstone so stragglers cannot reopen the session
                assembly[event.session_id] = SessionAssembly(event.session_id, finished=True)

    @app.timer(TICK_S)
    async def tick() -> None:
        now = time.time_ns()
        for session_id, since in list(ticking.items()):
            state = assembly.get(session_id)
            if state is None:
                continue
            await emit_turns(assembler.tick(state, (now - since) // 1_000_000, now))
            if state.finished:
                ticking.pop(session_id, None)

    async def recorded_turns(session_id: str, before: int) -> list[MicroTurn]:
        records = await read_topics(settings.kafka, [topics.turns], topics.partitions, session_id)
        return [t for t in first_per_turn([r.event for r in records]) if t.seq < before]

    async def session_text(session_id: str) -> list[tuple[int, str]]:
        records = await read_topics(settings.kafka, [topics.text], topics.partitions, session_id)
        return sorted((r.event.event_time_ms, r.event.text) for r in records if isinstance(r.event, TextEvent))

    clients: list[InteractionClient] = []

    def interaction() -> Interaction:
        if not clients:
            clients.append(InteractionClient(settings.triton, timeout_s=settings.triton_timeout_s))
        return Interaction(clients[0], recorded_turns)

    async def answer(item: tuple[Any, Any, MicroTurn, Interaction]) -> None:
        stream, record, turn, step = item
        bound = log.bind(session_id=turn.session_id, turn=turn.seq, partition=record.message.partition,
                         offset=record.message.offset)
        done = answered.get(turn.session_id)
        if done is None:
            done = answered[turn.session_id] = await answered_up_to(
                settings.kafka, topics, turn.session_id, record.message.partition
            )
        if turn.seq <= done:
            bound.info("duplicate_turn_skipped", answered_up_to=done)
            await stream.ack(record)
            return
        try:
            result = await step.answer(turn)
        except InferenceError as exc:
            bound.error("model_step_failed", error=str(exc), kind=type(exc).__name__)
            await reject(record, f"model step failed ({type(exc).__name__}): {exc}", "worker:interaction")
            await stream.ack(record)
            return
        await send(output_topic, result.output)
        if result.task is not None:
            await send(tasks_topic, result.task)
        answered[turn.session_id] = turn.seq
        await stream.ack(record)
        bound.debug("answered", action=result.output.action, model_ms=round(result.output.model_ms, 2),
                    rebuilt=result.rebuilt_turns)

    lanes: Lanes[tuple[Any, Any, MicroTurn, Interaction]] = Lanes(answer)

    @app.agent(turns_topic)
    async def interact(stream: faust.StreamT[bytes]) -> None:
        step = interaction()
        noack = stream.noack()
        async for record in noack.events():
            try:
                turn = decode_as(record.value, MicroTurn)
            except DecodeError as exc:
                await reject(record, str(exc), "worker:interaction")
                await noack.ack(record)
                continue
            lanes.put(turn.session_id, (noack, record, turn, step))

    @app.agent(tasks_topic)
    async def background(stream: faust.StreamT[bytes]) -> None:
        noack = stream.noack()
        pending: dict[str, Any] = {}

        async def deliver(task: BackgroundTask, result: BackgroundResult) -> None:
            await send(results_topic, result)
            await noack.ack(pending.pop(task.event_id))

        agent = BackgroundAgent(SessionFacts(session_text), deliver, fallback=ChatCompletions.from_env())
        async for record in noack.events():
            try:
                task = decode_as(record.value, BackgroundTask)
            except DecodeError as exc:
                await reject(record, str(exc), "worker:background")
                await noack.ack(record)
                continue
            pending[task.event_id] = record
            agent.submit(task)

    return app
