"""The worker's agents: assemble, tick, interact, background. `processors.app` wires them to faust.

Each agent method is handed its faust stream; the per-record order that makes delivery safe is
described in `processors.app`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import faust
import msgspec
import structlog

from inference.client import SESSION_MODEL_KEY, InteractionClient
from inference.errors import InferenceError
from inference.pool import ServerPool
from processors.assembler import INPUT_TYPES, SessionAssembly, TurnAssembler
from processors.background import BackgroundAgent, SessionFacts
from processors.background.llm import ChatCompletions
from processors.deadletter import dead_letter
from processors.interaction import Interaction
from processors.lanes import Lanes
from processors.recovery import answered_in_partition, first_per_turn, load_partition
from processors.settings import WorkerSettings
from schemas import (
    BackgroundResult,
    BackgroundTask,
    DecodeError,
    Event,
    MicroTurn,
    SessionStarted,
    TextEvent,
    decode,
    encode,
)
from schemas.codec import decode_as, session_key
from streams import metrics, tracing
from streams.log import read_topics, session_partition

log = structlog.get_logger(__name__)
E = TypeVar("E", bound=Event)


@dataclass(frozen=True)
class Work:
    """One MicroTurn for its session's lane.

    Each turn comes twice. First in process: the assembler hands it over right after queueing it
    on the turns topic (`recorded` resolves when the broker has it), so the model does not wait for
    a broker round trip. Then from the turns topic (`record`, to ack once answered): the copy that
    survives a crash. Whichever comes second finds the turn answered and is skipped (the lane runs
    a session's items in order). The output is produced only after `recorded` resolved, so a
    model input is always in the log before its output.
    """

    turn: MicroTurn
    """The turn to answer."""
    partition: int
    """The session's partition (the same on every topic: same key, same count, co-partitioned)."""
    stream: Any = None
    """The turns topic's stream, to ack `record` on; None when handed over in process."""
    record: Any = None
    """The turns topic's record; None when handed over in process."""
    recorded: Awaitable[Any] | None = None
    """Resolves once the broker acknowledged the turn (in-process hand-over only)."""
    trace: list[tuple[str, bytes]] | None = None
    """The assembler's trace headers, as on the turn's record (in-process hand-over only)."""


class Agents:
    """Shared state of one worker process and the agents that use it."""

    def __init__(self, app: faust.App, settings: WorkerSettings) -> None:
        self.settings = settings
        self.topics = topics = settings.topics
        self.turns_topic = app.topic(topics.turns)
        self.tasks_topic = app.topic(topics.background_tasks)
        self._output = app.topic(topics.output)
        self._results = app.topic(topics.background_results)
        self._dlq = app.topic(topics.dlq)
        self._assembler = TurnAssembler(
            max_clock_jump_ms=settings.max_clock_jump_ms, max_session_ms=settings.max_session_ms
        )
        self._assembly: dict[str, SessionAssembly] = {}  # live sessions; rebuilt from the log on first sight
        self._answered: dict[str, int] = {}  # session -> highest turn answered (queued for the broker)
        self._assembled_partitions: set[int] = set()  # partitions whose sessions were rebuilt from the log
        self._answered_partitions: set[int] = set()
        self._answered_lock = asyncio.Lock()
        self._ticking: dict[str, int] = {}  # ticker-clocked sessions -> wall ns their SessionStarted was seen
        self._lanes: Lanes[Work] = Lanes(self._answer, self._answer_failed)
        self._interaction: Interaction | None = None
        self._started = asyncio.Event()
        self._models: dict[str, str] = {}  # session -> model its SessionStarted selected (seen by the assembler)
        metrics.track_live_sessions(lambda: sum(not s.finished for s in list(self._assembly.values())))

    async def start(self) -> None:
        """Build the Triton client; faust runs this once when the worker starts (the client's gRPC
        channel belongs to the worker's event loop, so it cannot be made before the loop runs)."""
        settings = self.settings
        pool = ServerPool(settings.tritons, settings.triton_discovery)

        def connect(address: str) -> InteractionClient:
            return InteractionClient(address, timeout_s=settings.triton_timeout_s)

        self._interaction = Interaction(pool, connect, self._recorded_turns, session_model=self._session_model)
        self._started.set()
        for address in pool.servers:
            client = connect(address)
            if not await client.ready():
                log.warning("triton_not_ready_at_start", triton=address)
            await client.close()

    async def _send(self, topic: Any, event: Event, headers: list[tuple[str, bytes]] | None = None) -> Awaitable[Any]:
        """Queue `event` on `topic` (ordered per session); what is returned resolves on the broker's
        ack. Not waiting for it is safe: faust flushes its producer before committing any offset, so a
        record's offset is committed only after everything it produced is durable."""
        recorded: Awaitable[Any] = await topic.send(
            key=session_key(event.session_id), value=encode(event), headers=headers or None
        )
        return recorded

    async def _reject(self, record: Any, reason: str, agent: str) -> None:
        msg = record.message
        metrics.dead_lettered(agent, reason)
        log.warning("dead_letter", topic=msg.topic, partition=msg.partition, offset=msg.offset, reason=reason)
        await self._send(
            self._dlq, dead_letter(msg.topic, msg.partition, msg.offset, msg.key, msg.value, reason, agent)
        )

    async def _decode_or_reject(self, noack: Any, record: Any, kind: type[E], agent: str) -> E | None:
        """The record's event if it is a `kind` keyed by its session; otherwise dead-letter and ack it, and None."""
        try:
            event = decode_as(record.value, kind)
            _check_key(record, event)
            return event
        except DecodeError as exc:
            await self._reject(record, str(exc), agent)
            await noack.ack(record)
            return None

    async def _emit_turns(self, turns: Sequence[MicroTurn], partition: int) -> None:
        """Queue each turn on the turns topic and hand it to its session's lane at once (`Work`)."""
        for turn in turns:
            sent = time.time_ns()
            stamped = msgspec.structs.replace(turn, wall_time_ns=sent)
            with tracing.span("assemble", turn.session_id, turn.seq, closed_by=turn.closed_by) as headers:
                recorded = await self._send(self.turns_topic, stamped, headers)
            metrics.turn_assembled(turn.ingest_wall_time_ns, sent)
            if self._interaction is not None:
                self._lanes.put(turn.session_id, Work(stamped, partition, recorded=recorded, trace=headers))

    async def assemble(self, stream: faust.StreamT[bytes]) -> None:
        """Input events -> MicroTurns. Records are acked by faust when the loop moves on; a record
        that fails in any way is dead-lettered with the reason, never stops the agent."""
        async for record in stream.events():
            try:
                await self._assemble_one(record)
            except Exception as exc:
                log.exception("assembly_failed", partition=record.message.partition, offset=record.message.offset)
                await self._reject(record, f"assembly failed ({type(exc).__name__}): {exc}"[:4000], "worker:assembler")

    async def _assemble_one(self, record: Any) -> None:
        try:
            event = decode(record.value)
            if not isinstance(event, INPUT_TYPES):
                raise DecodeError(f"expected an input event; got a {type(event).__name__}")
            _check_key(record, event)
        except DecodeError as exc:
            await self._reject(record, str(exc), "worker:assembler")
            return
        partition = record.message.partition
        if partition not in self._assembled_partitions:
            states, closed = await load_partition(self.settings.kafka, self.topics, partition, self._assembler)
            self._assembly.update(states)
            self._assembled_partitions.add(partition)
            await self._emit_turns(closed, partition)
        if isinstance(event, SessionStarted):
            self._models[event.session_id] = event.metadata.get(SESSION_MODEL_KEY, "")
        state = self._assembly.get(event.session_id)
        if state is None:
            state = self._assembly[event.session_id] = SessionAssembly(event.session_id)
        applied = self._assembler.apply(state, event)
        await self._emit_turns(applied.turns, partition)
        if applied.rejected and isinstance(event, BackgroundResult) and state.finished:
            log.info("background_result_undelivered", session_id=event.session_id, task_id=event.task_id)
        elif applied.rejected:
            await self._reject(record, applied.rejected, "worker:assembler")
        if state.clock == "ticker" and not state.finished:
            self._ticking.setdefault(event.session_id, time.time_ns())
        if state.finished:  # a light tombstone: stragglers cannot reopen it, duplicates stay duplicates
            self._assembly[event.session_id] = SessionAssembly(
                event.session_id, finished=True, high_water=state.high_water, results_seen=state.results_seen
            )

    async def tick(self) -> None:
        """Close the due turns of ticker-clocked (text-only) sessions."""
        now = time.time_ns()
        for session_id, since in list(self._ticking.items()):
            state = self._assembly.get(session_id)
            if state is None:
                continue
            turns = self._assembler.tick(state, (now - since) // 1_000_000, now)
            await self._emit_turns(turns, session_partition(session_id, self.topics.partitions))
            if state.finished:
                self._ticking.pop(session_id, None)

    async def _recorded_turns(self, session_id: str, before: int) -> list[MicroTurn]:
        records = await read_topics(self.settings.kafka, [self.topics.turns], self.topics.partitions, session_id)
        return [t for t in first_per_turn([r.event for r in records]) if t.seq < before]

    async def _session_model(self, session_id: str) -> str:
        """The model the session's SessionStarted selected: seen by this worker's assembler, or read
        from the session topic (a worker that took the partition over after the session started)."""
        if session_id in self._models:
            return self._models.pop(session_id)
        records = await read_topics(self.settings.kafka, [self.topics.session], self.topics.partitions, session_id)
        started = [r.event for r in records if isinstance(r.event, SessionStarted)]
        return started[0].metadata.get(SESSION_MODEL_KEY, "") if started else ""

    async def _session_text(self, session_id: str) -> list[tuple[int, str]]:
        records = await read_topics(self.settings.kafka, [self.topics.text], self.topics.partitions, session_id)
        return sorted((r.event.event_time_ms, r.event.text) for r in records if isinstance(r.event, TextEvent))

    async def interact(self, stream: faust.StreamT[bytes]) -> None:
        """MicroTurns -> per-session lanes; each record is acked once its output is durable."""
        await self._started.wait()
        noack = stream.noack()  # type: ignore[attr-defined]  # faust's StreamT stub lacks noack()
        async for record in noack.events():
            turn = await self._decode_or_reject(noack, record, MicroTurn, "worker:interaction")
            if turn is not None:
                self._lanes.put(turn.session_id, Work(turn, record.message.partition, noack, record))

    async def _answer(self, work: Work) -> None:
        turn, partition = work.turn, work.partition
        bound = log.bind(session_id=turn.session_id, turn=turn.seq, partition=partition, in_process=work.record is None)
        if partition not in self._answered_partitions:
            async with self._answered_lock:  # lanes of one partition wait for one scan
                if partition not in self._answered_partitions:
                    found = await answered_in_partition(self.settings.kafka, self.topics, partition)
                    self._answered.update({k: max(v, self._answered.get(k, -1)) for k, v in found.items()})
                    self._answered_partitions.add(partition)
        done = self._answered.get(turn.session_id, -1)
        if turn.seq <= done:
            if work.record is not None:  # the turns topic's copy of a turn answered in process, or redelivered
                await work.stream.ack(work.record)
            return
        assert self._interaction is not None  # set before any lane exists
        parent = work.record.message.headers if work.record is not None else work.trace
        with tracing.span("interact", turn.session_id, turn.seq, parent):
            result = await self._interaction.answer(turn)  # any exception: `_answer_failed`
            if work.recorded is not None:
                await work.recorded  # the model's input is in the log before its output
            with tracing.span("emit", turn.session_id, turn.seq, action=result.output.action) as headers:
                await self._send(self._output, result.output, headers)
        out = result.output
        metrics.turn_answered(turn.ingest_wall_time_ns, turn.wall_time_ns, out.model_ms, out.wall_time_ns)
        if result.task is not None:
            await self._send(self.tasks_topic, result.task)
        self._answered[turn.session_id] = turn.seq
        if work.record is not None:
            await work.stream.ack(work.record)
        bound.debug(
            "answered",
            action=result.output.action,
            model_ms=round(result.output.model_ms, 2),
            rebuilt=result.rebuilt_turns,
        )

    async def _answer_failed(self, work: Work, exc: Exception) -> None:
        """Whatever made `_answer` fail, the turn's record is dead-lettered with the reason and acked,
        so the partition's committed offset moves on and later turns are answered. A turn handed
        over in process has no record: its copy from the turns topic tries again."""
        stream, record, turn = work.stream, work.record, work.turn
        kind = type(exc).__name__
        if record is None:
            log.warning("in_process_turn_failed", session_id=turn.session_id, turn=turn.seq, kind=kind, error=str(exc))
            return
        bound = log.bind(
            session_id=turn.session_id, turn=turn.seq, partition=record.message.partition, offset=record.message.offset
        )
        if isinstance(exc, InferenceError):
            bound.error("model_step_failed", error=str(exc), kind=kind)
            reason = f"model step failed ({kind}): {exc}"
        else:
            bound.error("turn_failed", kind=kind, exc_info=exc)
            reason = f"interaction failed on turn {turn.seq} ({kind}): {exc}"
        await self._reject(record, reason[:4000], "worker:interaction")
        await stream.ack(record)

    async def background(self, stream: faust.StreamT[bytes]) -> None:
        """BackgroundTasks -> the agent; each record is acked once its result is durable."""
        noack = stream.noack()  # type: ignore[attr-defined]  # faust's StreamT stub lacks noack()
        pending: dict[int, Any] = {}  # id of the decoded task -> its record (a re-delivered task is another object)

        async def deliver(task: BackgroundTask, result: BackgroundResult) -> None:
            await self._send(self._results, result)
            await noack.ack(pending.pop(id(task)))

        agent = BackgroundAgent(SessionFacts(self._session_text), deliver, fallback=ChatCompletions.from_env())
        async for record in noack.events():
            task = await self._decode_or_reject(noack, record, BackgroundTask, "worker:background")
            if task is not None:
                pending[id(task)] = record
                agent.submit(task)


def _check_key(record: Any, event: Event) -> None:
    """A record must be keyed by its event's session: the key places it on the partition (and so the
    worker) that owns the session, so an event keyed otherwise could reach into another's session."""
    if record.key != session_key(event.session_id):
        raise DecodeError(
            f"expected the record key to be the session id {event.session_id!r}; got {record.key[:80]!r}"
            if isinstance(record.key, bytes)
            else f"expected the record key to be the session id {event.session_id!r}; got no key"
        )
