"""The worker's agents: assemble, tick, interact, background. `processors.app` wires them to faust.

Each agent method is handed its faust stream; the per-record order that makes delivery safe is
described in `processors.app`.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Iterable, Sequence
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
from processors.checkpoint import (
    Checkpoint,
    CheckpointError,
    checkpoint_key,
    encode_checkpoint,
    encrypted_checkpoint,
    end_offsets,
    opened_checkpoint,
    read_checkpoints,
)
from processors.deadletter import dead_letter
from processors.interaction import Interaction
from processors.lanes import Lanes
from processors.recovery import answered_in_partition, first_per_turn, input_topics, load_partition
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
from streams.key_paths import KeyStoreError
from streams.log import read_topics, session_partition
from streams.redaction import Redactor
from streams.vault import current as current_vault

log = structlog.get_logger(__name__)
E = TypeVar("E", bound=Event)

FINISHED_IN_CHECKPOINT = 1000
"""Finished sessions (light tombstones) a partition's checkpoint keeps, latest first seen; older
ones are left out so a checkpoint stays bounded (a straggler of one, older than the checkpoint's
offsets, is then treated as a new session's event)."""

_partition_of = functools.lru_cache(maxsize=65_536)(session_partition)
"""`session_partition`, remembered (checkpoints ask it for every held session every few seconds)."""

REVOKE_WAIT_S = 20.0
"""How long a revocation waits for the answers in flight (a Triton step's deadline is 10 s by
default); faust's rebalance gives up on a member after its session timeout."""


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
        self._app = app
        self._vault = current_vault()  # encrypts what the agents produce, opens what they consume
        self._owned: set[int] | None = None  # partitions of the current assignment (None: none yet)
        self._settled = asyncio.Event()  # cleared from a revocation until the next assignment
        self._settled.set()
        self._in_flight = 0  # answers and ticks running now (a revocation waits for them)
        self._checkpoints_topic = app.topic(topics.checkpoints)
        self._next_input: dict[tuple[str, int], int] = {}  # (input topic, partition) -> first offset not applied
        self._restart_points: dict[int, Checkpoint | None] = {}  # partition -> checkpoint its recovery starts from
        self._restart_lock = asyncio.Lock()  # the assembler and the lanes of a new partition read it once
        self._dirty: set[int] = set()  # partitions changed since their last checkpoint
        self._redactor = Redactor(settings.redaction)  # model text, tasks, results, dead letters
        metrics.track_live_sessions(lambda: sum(not s.finished for s in list(self._assembly.values())))

    async def start(self) -> None:
        """Build the Triton client; faust runs this once when the worker starts (the client's gRPC
        channel belongs to the worker's event loop, so it cannot be made before the loop runs)."""
        settings = self.settings
        pool = ServerPool(settings.tritons, settings.triton_discovery)

        def connect(address: str) -> InteractionClient:
            return InteractionClient(address, timeout_s=settings.triton_timeout_s)

        self._interaction = Interaction(
            pool, connect, self._recorded_turns, session_model=self._session_model, redactor=self._redactor
        )
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
            key=session_key(event.session_id), value=encode(self._vault.encrypt(event)), headers=headers or None
        )
        return recorded

    async def _reject(self, record: Any, reason: str, agent: str) -> None:
        msg = record.message
        metrics.dead_lettered(agent, reason)
        letter = dead_letter(msg.topic, msg.partition, msg.offset, msg.key, msg.value, reason, agent, self._redactor)
        log.warning("dead_letter", topic=msg.topic, partition=msg.partition, offset=msg.offset, reason=letter.reason)
        await self._send(self._dlq, letter)

    async def _decode_or_reject(self, noack: Any, record: Any, kind: type[E], agent: str) -> E | None:
        """The record's event if it is a `kind` keyed by its session; otherwise dead-letter and ack it, and None."""
        try:
            event = decode_as(record.value, kind)
            _check_key(record, event)
            return self._vault.open(event)
        except (DecodeError, KeyStoreError) as exc:
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
        msg = record.message
        partition = msg.partition
        if partition not in self._assembled_partitions:
            loaded = await load_partition(
                self.settings.kafka, self.topics, partition, self._assembler, await self._restart_point(partition)
            )
            self._assembly.update(loaded.states)
            self._next_input.update({(name, partition): offset for name, offset in loaded.next_input.items()})
            self._assembled_partitions.add(partition)
            await self._emit_turns(loaded.closed, partition)
        if msg.offset < self._next_input.get((msg.topic, partition), 0):
            return  # the state reflects it already (redelivered after a rebalance or a restart)
        self._next_input[(msg.topic, partition)] = msg.offset + 1
        self._dirty.add(partition)
        try:
            event = decode(record.value)
            if not isinstance(event, INPUT_TYPES):
                raise DecodeError(f"expected an input event; got a {type(event).__name__}")
            _check_key(record, event)
            event = self._vault.open(event)
        except (DecodeError, KeyStoreError) as exc:
            await self._reject(record, str(exc), "worker:assembler")
            return
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
        """Close the due turns of ticker-clocked (text-only) sessions (not while a rebalance runs)."""
        if not self._settled.is_set():
            return
        self._in_flight += 1
        try:
            await self._tick()
        finally:
            self._in_flight -= 1

    async def _tick(self) -> None:
        now = time.time_ns()
        for session_id, since in list(self._ticking.items()):
            state = self._assembly.get(session_id)
            if state is None:
                continue
            turns = self._assembler.tick(state, (now - since) // 1_000_000, now)
            await self._emit_turns(turns, session_partition(session_id, self.topics.partitions))
            if state.finished:
                self._ticking.pop(session_id, None)

    async def on_revoked(self, revoked: Iterable[Any]) -> None:
        """faust calls this in a rebalance, after the records it delivered were acked and its producer
        flushed, and before the partitions can go to another worker (eager rebalancing: the group
        waits for every member's revocation). The new owner rebuilds their sessions from the log as
        soon as it gets them, so from here on this worker must add nothing to them: lanes hold their
        turns until `on_assigned` says which partitions stay, the answers and ticks in flight finish,
        and what they produced is flushed to the broker before this returns."""
        self._settled.clear()
        deadline = time.monotonic() + REVOKE_WAIT_S
        while self._in_flight and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        if self._in_flight:
            log.warning("revocation_left_answers_in_flight", answers=self._in_flight)
        await self._app.producer.flush()
        log.info("partitions_revoked", partitions=sorted({tp.partition for tp in revoked}))

    async def on_assigned(self, assigned: Iterable[Any]) -> None:
        """faust calls this when a rebalance ends. The sessions of partitions this worker lost are
        forgotten (state, answered marks, lanes' turns: dropped when they come up), so a partition that
        comes back later is rebuilt from the log, which holds what its other owner did meanwhile."""
        t = self.topics
        names = {t.session, t.audio, t.video, t.text, t.background_results, t.turns, t.background_tasks}
        owned = {tp.partition for tp in assigned if tp.topic in names}
        lost = (set(range(self.topics.partitions)) if self._owned is None else self._owned) - owned
        if lost:
            self._forget(lost)
        self._owned = owned
        self._settled.set()
        log.info("partitions_assigned", partitions=sorted(owned), lost=sorted(lost))

    def _forget(self, partitions: set[int]) -> None:
        count = self.topics.partitions

        def lost(session_id: str) -> bool:
            return session_partition(session_id, count) in partitions

        for table in (self._assembly, self._answered, self._ticking, self._models):
            for session_id in [s for s in table if lost(s)]:
                del table[session_id]
        if self._interaction is not None:
            self._interaction.forget(lost)
        self._assembled_partitions -= partitions
        self._answered_partitions -= partitions
        self._dirty -= partitions
        for p in partitions:
            self._restart_points.pop(p, None)
        for key in [k for k in self._next_input if k[1] in partitions]:
            del self._next_input[key]

    async def _restart_point(self, partition: int) -> Checkpoint | None:
        """The checkpoint `partition`'s recovery starts from (read once per partition and contact;
        None: none yet, recovery reads the partition from its beginning)."""
        async with self._restart_lock:
            if partition not in self._restart_points:
                self._restart_points[partition] = await self._read_restart_point(partition)
        return self._restart_points[partition]

    async def _read_restart_point(self, partition: int) -> Checkpoint | None:
        try:
            found = await read_checkpoints(self.settings.kafka, self.topics)
        except Exception as exc:  # noqa: BLE001  # no checkpoint: recovery is slower, never wrong
            log.warning("checkpoints_unreadable", partition=partition, error=f"{type(exc).__name__}: {exc}")
            found = {}
        checkpoint = found.get(partition)
        if checkpoint is not None:
            checkpoint = opened_checkpoint(checkpoint, self._vault)
        sessions = len(checkpoint.sessions) if checkpoint else 0
        start = "checkpoint" if checkpoint is not None else "beginning"
        log.info("recovery_starts", partition=partition, start=start, sessions=sessions)
        return checkpoint

    async def checkpoint(self) -> None:
        """Write a checkpoint of each owned partition that changed since its last one (every
        `CHECKPOINT_S`; `processors.checkpoint` says what one holds and why this order is safe)."""
        owned = self._owned
        if not self._settled.is_set() or owned is None:
            return
        due = sorted(self._dirty & owned & self._assembled_partitions & self._answered_partitions)
        if not due:
            return
        t = self.topics
        try:
            ends = await end_offsets(self.settings.kafka, [t.turns, t.output], due)
        except CheckpointError as exc:
            log.warning("checkpoint_skipped", error=str(exc))
            return
        if not self._settled.is_set():
            return  # a rebalance began meanwhile
        values = [  # no await: one moment
            encode_checkpoint(encrypted_checkpoint(self._snapshot(p, ends), self._vault)) for p in due
        ]
        self._dirty -= set(due)
        await self._app.producer.flush()  # what the snapshot reflects is in the log before it is
        for p, value in zip(due, values, strict=True):
            await self._checkpoints_topic.send(key=checkpoint_key(p), value=value)
        log.debug("checkpointed", partitions=due)

    def _snapshot(self, partition: int, ends: dict[tuple[str, int], int]) -> Checkpoint:
        count, t = self.topics.partitions, self.topics
        mine = [s for sid, s in self._assembly.items() if _partition_of(sid, count) == partition]
        finished = [s for s in mine if s.finished]
        sessions = [s for s in mine if not s.finished] + finished[-FINISHED_IN_CHECKPOINT:]
        # Marks of sessions left out go too: their turns' offsets are long committed.
        answered = {s.session_id: self._answered[s.session_id] for s in sessions if s.session_id in self._answered}
        inputs = {name: self._next_input.get((name, partition), 0) for name in input_topics(t)}
        return Checkpoint(
            partition, sessions, answered, inputs, ends[(t.turns, partition)], ends[(t.output, partition)]
        )

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
        """Answer `work`'s turn unless it is answered already or its partition is no longer this
        worker's (held while a rebalance runs: see `on_revoked`)."""
        await self._settled.wait()
        if self._owned is not None and work.partition not in self._owned:
            turn = work.turn
            log.info("revoked_turn_dropped", session_id=turn.session_id, turn=turn.seq, partition=work.partition)
            return  # the new owner answers it from the turns topic (an unacked record is not committed)
        self._in_flight += 1  # no await since the check: a revocation sees this answer in flight
        try:
            await self._answer_owned(work)
        finally:
            self._in_flight -= 1

    async def _answer_owned(self, work: Work) -> None:
        turn, partition = work.turn, work.partition
        bound = log.bind(session_id=turn.session_id, turn=turn.seq, partition=partition, in_process=work.record is None)
        if partition not in self._answered_partitions:
            async with self._answered_lock:  # lanes of one partition wait for one scan
                if partition not in self._answered_partitions:
                    found = await answered_in_partition(
                        self.settings.kafka, self.topics, partition, await self._restart_point(partition)
                    )
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
        self._dirty.add(partition)
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

        agent = BackgroundAgent(
            SessionFacts(self._session_text), deliver, fallback=ChatCompletions.from_env(), redactor=self._redactor
        )
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
