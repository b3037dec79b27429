"""The faust app: input topics -> assembler -> turns -> interaction -> output.

Delivery (issue 2 scope): faust commits a record's offset after the agent has handled it, so a
crash replays the uncommitted tail; the assembler drops duplicate event ids and the interaction
step skips turns it already answered. Records that do not decode go to the dead-letter topic
with topic[partition]@offset and the reason, and the agent goes on.
"""

from __future__ import annotations

import time
from typing import Any

import faust
import msgspec
import structlog

from inference.client import InteractionClient
from inference.errors import InferenceError
from processors.assembler import SessionAssembly, TurnAssembler
from processors.deadletter import dead_letter
from processors.interaction import Interaction
from processors.settings import WorkerSettings
from schemas import (
    AudioChunk,
    BackgroundResult,
    DecodeError,
    MicroTurn,
    SessionEnded,
    TextEvent,
    VideoFrame,
    decode,
    encode,
)
from schemas.codec import session_key

log = structlog.get_logger(__name__)
_ASSEMBLED = (AudioChunk, VideoFrame, TextEvent, BackgroundResult, SessionEnded)


class Assemblies(dict[str, SessionAssembly]):
    """Live sessions' assembly state, plus tombstones of the last `keep_finished` finished ones."""

    def __init__(self, keep_finished: int = 10_000) -> None:
        super().__init__()
        self._finished: list[str] = []
        self._keep = keep_finished

    def finish(self, session_id: str) -> None:
        self[session_id] = SessionAssembly(session_id, finished=True)
        self._finished.append(session_id)
        if len(self._finished) > self._keep:
            self.pop(self._finished.pop(0), None)


def create_app(settings: WorkerSettings) -> faust.App:
    """The worker app for `settings`, with its agents registered."""
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
        key_serializer="raw",
        value_serializer="raw",
    )
    inputs = app.topic(topics.session, topics.audio, topics.video, topics.text, topics.background_results)
    turns_topic = app.topic(topics.turns)
    output_topic = app.topic(topics.output)
    dlq_topic = app.topic(topics.dlq)
    assembler = TurnAssembler()
    assemblies = Assemblies()
    clients: list[InteractionClient] = []

    async def reject(event: Any, reason: str, agent: str) -> None:
        msg = event.message
        log.warning("dead_letter", topic=msg.topic, partition=msg.partition, offset=msg.offset, reason=reason)
        letter = dead_letter(msg.topic, msg.partition, msg.offset, msg.key, msg.value, reason, agent)
        await dlq_topic.send(key=msg.key, value=encode(letter))

    @app.agent(inputs)
    async def assemble(stream: faust.StreamT[bytes]) -> None:
        async for record in stream.events():
            try:
                event = decode(record.value)
            except DecodeError as exc:
                await reject(record, str(exc), "worker:assembler")
                continue
            if not isinstance(event, _ASSEMBLED):
                continue  # SessionStarted: nothing to assemble
            state = assemblies.get(event.session_id)
            if state is None:
                state = assemblies[event.session_id] = SessionAssembly(event.session_id)
            applied = assembler.apply(state, event)
            for turn in applied.turns:
                turn = msgspec.structs.replace(turn, wall_time_ns=time.time_ns())
                await turns_topic.send(key=session_key(turn.session_id), value=encode(turn))
            if applied.rejected:
                await reject(record, applied.rejected, "worker:assembler")
            if state.finished:  # keep a light tombstone so stragglers cannot reopen the session
                assemblies.finish(event.session_id)

    @app.agent(turns_topic)
    async def interact(stream: faust.StreamT[bytes]) -> None:
        if not clients:
            clients.append(InteractionClient(settings.triton, timeout_s=settings.triton_timeout_s))
        interaction = Interaction(clients[0])
        async for record in stream.events():
            try:
                turn = decode(record.value)
                if not isinstance(turn, MicroTurn):
                    raise DecodeError(f"expected a MicroTurn; got a {type(turn).__name__}")
            except DecodeError as exc:
                await reject(record, str(exc), "worker:interaction")
                continue
            bound = log.bind(session_id=turn.session_id, turn=turn.seq, partition=record.message.partition,
                             offset=record.message.offset)
            try:
                output = await interaction.answer(turn)
            except InferenceError as exc:
                bound.error("model_step_failed", error=str(exc), kind=type(exc).__name__)
                await reject(record, f"model step failed ({type(exc).__name__}): {exc}", "worker:interaction")
                continue
            if output is not None:
                await output_topic.send(key=session_key(output.session_id), value=encode(output))
                bound.debug("output", action=output.action, model_ms=round(output.model_ms, 2))

    return app
