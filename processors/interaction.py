"""The interaction step: a session's MicroTurns, in order, through its Triton sequence.

One Triton sequence per session (START on turn 0, END on the final turn). The worker records a
turn as answered once its ModelOutput is queued on the producer, and acks the turn's record; faust
commits that offset only after flushing the producer, so the output is durable first. After a
crash, a turn whose output reached the broker is found in the log and skipped; one whose output
did not is redelivered and answered again (same output event id: consumers drop a duplicate).
Never lost.

Recovery: the model's state is derived data. When the server has no state for the session
(restart, eviction), is ahead of us (it ran a turn whose output never made it out), is behind, or
timed out, the session is rebuilt by re-sending its recorded turns from turn 0 with START, their
outputs discarded, and then the current turn runs. Same weights + same turns = same state.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import structlog

from inference.client import MODEL, MODELS, InteractionClient, TurnResult
from inference.errors import BadRequest, OutOfOrder, SequenceLost, TimedOut, Unavailable, error_message
from inference.network.errors import InputError
from inference.network.turns import TurnInput
from inference.pool import ServerPool
from schemas import ACTIONS, BackgroundTask, MicroTurn, ModelOutput, event_id
from schemas.clock import TURN_MS
from schemas.envelope import Stamper
from streams import metrics, tracing
from streams.redaction import Redactor

log = structlog.get_logger(__name__)
RecordedTurns = Callable[[str, int], Awaitable[Sequence[MicroTurn]]]
"""Reads a session's recorded MicroTurns with seq below a turn, in order, from the log."""
SessionModel = Callable[[str], Awaitable[str]]
"""The Triton model a session selected (its SessionStarted.metadata["model"]), or "" for the default."""


async def _default_model(session_id: str) -> str:
    return ""


def to_request(turn: MicroTurn) -> TurnInput:
    """The model input recorded in `turn`; a malformed one is a `BadRequest` (dead-lettered)."""
    audio = np.frombuffer(turn.audio, dtype="<i2") if turn.audio is not None else None
    video = None
    if turn.video is not None:
        from streams.media import decode_jpeg

        video = decode_jpeg(turn.video)
    try:
        return TurnInput(
            session_key=turn.session_id,
            turn=turn.seq,
            audio=audio,
            video=video,
            text=turn.text.encode(),
            background=turn.background.encode(),
        )
    except InputError as exc:
        raise BadRequest(error_message(BadRequest, str(exc))) from exc


def model_output(
    stamper: Stamper, turn: MicroTurn, result: TurnResult, redactor: Redactor | None = None
) -> ModelOutput:
    """The ModelOutput answering `turn` with `result`: the one way outputs are made, live and offline.

    Its text and delegate pass `redactor` (None: not redacted), whose digest the output records.
    """
    text = result.text.decode(errors="replace")
    delegate = result.delegate.decode(errors="replace")
    if redactor is not None:
        said, handed = redactor.redact(text), redactor.redact(delegate)
        text, delegate = said.text, handed.text
        metrics.redacted("model", said.counts)
        metrics.redacted("model", handed.counts)
    return stamper.derive(
        ModelOutput,
        turn,
        "output",
        action=ACTIONS[result.action],
        text=text,
        audio=result.audio.astype("<i2").tobytes(),
        delegate=delegate,
        model_version=result.model_version,
        input_wall_time_ns=turn.ingest_wall_time_ns,
        model_ms=result.model_ms,
        final=turn.final,
        redaction=redactor.digest if redactor is not None else "",
    )


@dataclass(frozen=True)
class Said:
    """One line of a session's conversation, at its place on the session clock."""

    time_ms: int
    """Session time of the turn it was said in."""
    text: str
    """What was said (the caller's text, or the model's action and text)."""

    def line(self) -> str:
        return f"[{self.time_ms / 1000:.1f}s] {self.text}"


@dataclass
class _Context:
    """Recent conversation of a session, for the background agent's context package."""

    said: deque[Said] = field(default_factory=lambda: deque(maxlen=20))
    answered: deque[Said] = field(default_factory=lambda: deque(maxlen=10))


@dataclass(frozen=True)
class Answer:
    """What one turn produced."""

    output: ModelOutput
    """The model's output for the turn."""
    task: BackgroundTask | None
    """The delegated task, when the action was DELEGATE."""
    rebuilt_turns: int = 0
    """How many recorded turns were re-sent to rebuild the session first (0 normally)."""


class Interaction:
    """Answers MicroTurns with ModelOutputs (and BackgroundTasks) on the session's Triton server."""

    def __init__(
        self,
        pool: ServerPool,
        connect: Callable[[str], InteractionClient],
        recorded_turns: RecordedTurns,
        producer: str = "worker:interaction",
        unavailable_s: float = 120.0,
        session_model: SessionModel = _default_model,
        redactor: Redactor | None = None,
    ) -> None:
        """`pool` says which server runs a session; `connect(address)` makes a client for a server;
        `session_model(session_id)` names the model the session selected ("" = `MODEL`), asked once
        per session and worker; `redactor`: what outputs and tasks pass (None: the default rules)."""
        self._redactor = redactor or Redactor()
        self._pool = pool
        self._connect = connect
        self._clients: dict[str, InteractionClient] = {}
        self._recorded = recorded_turns
        self._stamper = Stamper(producer)
        self._unavailable_s = unavailable_s
        self._contexts: dict[str, _Context] = {}
        self._session_model = session_model
        self._models: dict[str, str] = {}

    async def _model(self, session_id: str) -> str:
        """The session's model; BadRequest (each turn dead-lettered) when it names no served model."""
        model = self._models.get(session_id)
        if model is None:
            model = self._models[session_id] = (await self._session_model(session_id)) or MODEL
        if model not in MODELS:
            raise BadRequest(
                error_message(BadRequest, f"session selected model {model!r}; expected one of {list(MODELS)}")
            )
        return model

    def _client(self, server: str) -> InteractionClient:
        client = self._clients.get(server)
        if client is None:
            client = self._clients[server] = self._connect(server)
        return client

    def forget(self, lost: Callable[[str], bool]) -> None:
        """Drop what this worker keeps of the sessions `lost` selects (their partition moved to
        another worker; the model's own state lives on the Triton server, keyed by session id)."""
        for table in (self._contexts, self._models):
            for session_id in [s for s in table if lost(s)]:
                del table[session_id]

    async def close(self) -> None:
        """Close every server's client (worker shutdown)."""
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.close()

    async def _step(self, turn: MicroTurn, start: bool, end: bool) -> TurnResult:
        """One model step on the session's server. An unreachable server is marked down, so the
        session moves to its next server (which then reports the sequence lost: the caller rebuilds
        it there); with no server reachable, wait (up to `unavailable_s`) instead of failing the
        turn: a restarting Triton must not cost a session its turns."""
        request = to_request(turn)
        model = await self._model(turn.session_id)
        deadline = time.monotonic() + self._unavailable_s
        while True:
            server = self._pool.server_for(turn.session_id)
            try:
                with tracing.span("triton", turn.session_id, turn.seq, server=server):
                    return await self._client(server).step(turn.session_id, request, start=start, end=end, model=model)
            except Unavailable:
                if time.monotonic() > deadline:
                    raise
                log.warning("triton_unavailable", session_id=turn.session_id, turn=turn.seq, server=server)
                self._pool.mark_down(server)
                if self._pool.server_for(turn.session_id) == server:  # nowhere else to go: wait for it
                    await asyncio.sleep(0.5)

    async def answer(self, turn: MicroTurn) -> Answer:
        """Run `turn` on the model, rebuilding the session's state first if the server lost it."""
        rebuilt = 0
        try:
            result = await self._step(turn, start=turn.seq == 0, end=turn.final)
        except (SequenceLost, OutOfOrder, TimedOut) as exc:
            log.warning("rebuilding_session", session_id=turn.session_id, turn=turn.seq, reason=type(exc).__name__)
            rebuilt = await self._rebuild(turn)
            result = await self._step(turn, start=turn.seq == 0, end=turn.final)
        context = self._contexts.setdefault(turn.session_id, _Context())
        output = model_output(self._stamper, turn, result, self._redactor)
        if turn.text:
            context.said.append(Said(turn.event_time_ms, turn.text))
        if output.text:
            context.answered.append(Said(turn.event_time_ms, f"{output.action}: {output.text}"))
        task = self._task(turn, output, context) if output.action == "DELEGATE" else None
        if turn.final:
            self._contexts.pop(turn.session_id, None)
            self._models.pop(turn.session_id, None)
        return Answer(output, task, rebuilt)

    async def _rebuild(self, turn: MicroTurn) -> int:
        history = await self._recorded(turn.session_id, turn.seq)
        for earlier in history:
            await self._step(earlier, start=earlier.seq == 0, end=False)
        return len(history)

    def _task(self, turn: MicroTurn, output: ModelOutput, context: _Context) -> BackgroundTask:
        """The task with its context package: recent conversation, recent outputs, elapsed time."""
        # The caller's own words are the task; the model's delegate text is its hint about it.
        task = turn.text or (context.said[-1].text if context.said else "") or output.delegate
        found: Counter[str] = Counter()
        asked = self._redactor.redact(task)
        found.update(asked.counts)
        said = self._redactor.mapping(
            {
                "recent_user_text": "\n".join(said.line() for said in context.said),
                "recent_model_outputs": "\n".join(said.line() for said in context.answered),
                "current_turn_text": turn.text,
                "model_delegate": output.delegate,
            },
            found,
        )
        metrics.redacted("background", found)
        return self._stamper.derive(
            BackgroundTask,
            turn,
            "task",
            task_id=event_id(turn.session_id, "task", turn.seq),
            task=asked.text,
            context={
                "elapsed_ms": str(turn.event_time_ms + TURN_MS),
                "turn": str(turn.seq),
                **said,
                "model_version": output.model_version,
            },
        )
