"""The life of one live call, shared by every ingress protocol.

`LiveCall.run` drives it: `open` reads the peer's messages up to its start (no session exists
yet, so a failure there only closes the socket); then the session is subscribed to its outputs
and started, and every message goes to `on_message` until the peer stops. Meanwhile a player
task turns the session's outputs into `Step`s (see `playback`) and hands them to `play`. At the
end the held audio is flushed, SessionEnded is sent with the reason, the outputs still coming
are played until the final one (bounded by `drain_timeout_s`; only for calls that ended well)
and the socket is closed with a code that says why.

How a call ends -> SessionEnded.reason and close code:
- the peer sent its stop message: `complete`, 1000;
- a `CallRejected` (malformed message, unsupported media, idle timeout, audio faster than real
  time or past the longest call): `aborted`, its code; counted in the server's `refusals`;
- the message size limit: `aborted`, 1009 (sent by the WebSocket library);
- the server shut down: `aborted`, 1001;
- the peer disconnected without stopping: `truncated` (it broke off midway);
- a fault of the server itself (logged with its traceback): `aborted`, 1011.
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import structlog
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from schemas import ModelOutput
from schemas.events import EndReason
from streams.errors import StreamsError
from streams.ingress.errors import CallRejected, CallTimeout
from streams.ingress.limits import AudioLimit
from streams.ingress.live import LiveSession
from streams.ingress.playback import Playback, Step
from streams.ingress.server import CallContext

log = structlog.get_logger(__name__)

_CLOSE_REASON_BYTES = 123  # the WebSocket limit on a close frame's reason


@dataclass(frozen=True)
class CallStart:
    """What a peer's start message said: the session to open and how to describe it."""

    session_id: str
    """The session id (Twilio: the streamSid)."""
    source: str
    """SessionStarted.source."""
    media: dict[str, str]
    """SessionStarted.media."""
    metadata: dict[str, str]
    """SessionStarted.metadata."""
    refusal: CallRejected | None = None
    """Set when the call cannot be served (e.g. wrong encoding): the session starts and is aborted."""
    log_fields: dict[str, Any] = field(default_factory=dict)
    """Extra fields bound to every log line of the call."""


@dataclass(frozen=True)
class _Ending:
    reason: EndReason
    """SessionEnded.reason."""
    detail: str
    """SessionEnded.detail."""
    close: tuple[int, str] | None
    """Close code and reason to send, or None when the socket is already closed."""
    broker_ok: bool = True
    """False when publishing failed: nothing more is flushed."""


class LiveCall(ABC):
    """One call on one WebSocket; a protocol implements the five hooks below."""

    def __init__(self, websocket: ServerConnection, context: CallContext) -> None:
        self.websocket = websocket
        self.context = context
        self.settings = context.settings
        self.playback = Playback()
        self.session: LiveSession | None = None
        self.peer = _peer(websocket)
        """host:port of the peer, as this server sees it."""
        self.log = log.bind(peer=self.peer)

    @abstractmethod
    async def open(self) -> CallStart:
        """Read the peer's messages up to its start; CallRejected if they are not a valid start."""

    @abstractmethod
    async def on_message(self, message: str | bytes, session: LiveSession) -> bool:
        """Handle one message of the running call; True once the peer said it stopped.

        Raises CallRejected for a message that breaks the protocol: the call ends aborted.
        """

    @abstractmethod
    async def flush(self, session: LiveSession) -> None:
        """Publish any audio still held (jitter buffer); called once, before the session ends."""

    @abstractmethod
    async def play(self, step: Step) -> None:
        """Send one output's step to the peer: a clear first when `step.cut`, then audio and mark."""

    def stats(self) -> dict[str, Any]:
        """Counters logged when the call ends (protocols add theirs)."""
        return {"playback": self.playback.stats.as_dict()}

    async def started(self, start: CallStart) -> None:  # noqa: B027 - optional hook
        """Tell the peer its session is open (after SessionStarted was sent); nothing by default."""

    async def ended(self, reason: EndReason, detail: str) -> None:  # noqa: B027 - optional hook
        """Tell the peer how the call ended, before the socket closes; nothing by default."""

    async def on_mark(self, name: str, session: LiveSession) -> bool:
        """The peer echoed mark `name`: record the model speech it confirmed as played.

        Returns False for a mark this call never sent (counted by the protocol).
        """
        heard = self.playback.on_mark(name)
        if heard is None:
            return False
        if heard.turns:
            await session.playback("played", heard.turns, heard.audio_ms)
        return True

    async def receive(self) -> str | bytes:
        """The next message, or CallTimeout after `idle_timeout_s` of silence from the peer."""
        try:
            async with asyncio.timeout(self.settings.idle_timeout_s):
                return await self.websocket.recv()
        except TimeoutError:
            raise CallTimeout(f"no message from the peer for {self.settings.idle_timeout_s:g} s") from None

    async def run(self) -> None:
        """The whole call; returns once the socket is closed. Never raises for the call's own faults."""
        try:
            start = await self.open()
            self.log = self.log.bind(session_id=start.session_id, **start.log_fields)
            outputs = self.context.outputs.subscribe(start.session_id)  # SessionInUse: not ours to end
        except CallRejected as exc:
            self.context.refusals[type(exc).__name__] += 1
            self.log.warning("call_rejected_before_start", error=self.context.redactor.text(str(exc)))
            await self._close(exc.close_code, str(exc))
            return
        except ConnectionClosed:
            self.log.info("call_closed_before_start")
            return
        limit = AudioLimit(self.settings.audio_burst_ms, int(self.settings.max_call_s * 1000))
        session = self.session = LiveSession(
            self.context.producer, start.session_id, self.context.producer_name, limit, self.context.redactor
        )
        player: asyncio.Task[None] | None = None
        try:
            ending, player = await self._converse(start, session, outputs)
            await self._end(session, ending)
            if ending.reason == "complete" and player is not None:
                await self._drain(player)
        finally:
            if player is not None:
                player.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await player
            self.context.outputs.unsubscribe(start.session_id)
        if ending.close is not None:
            with contextlib.suppress(ConnectionClosed):
                await self.ended(ending.reason, ending.detail)
            await self._close(*ending.close)

    async def _converse(
        self, start: CallStart, session: LiveSession, outputs: asyncio.Queue[ModelOutput]
    ) -> tuple[_Ending, asyncio.Task[None] | None]:
        """Start the session and the player, take messages until the peer stops; how it ended."""
        player = None
        try:
            await session.start(start.source, start.media, start.metadata)
            self.log.info("call_started", source=start.source, metadata=self.context.redactor.mapping(start.metadata))
            if start.refusal is not None:
                raise start.refusal
            await self.started(start)
            player = asyncio.create_task(self._player(outputs, session), name=f"player-{start.session_id}")
            while not await self.on_message(await self.receive(), session):
                pass
        except CallRejected as exc:
            self.context.refusals[type(exc).__name__] += 1
            return _Ending(exc.reason, str(exc), (exc.close_code, str(exc))), player
        except ConnectionClosed as exc:
            reason, detail = self._closed_because(exc)
            return _Ending(reason, detail, None), player
        except StreamsError as exc:  # the broker failed us: this call cannot be recorded any more
            return _Ending("aborted", f"publishing failed: {exc}", (1011, "internal error"), broker_ok=False), player
        except Exception as exc:  # a bug must still end the session and leave the server up; it is logged
            self.log.exception("call_failed")
            return _Ending("aborted", f"internal error ({type(exc).__name__})", (1011, "internal error")), player
        return _Ending("complete", "", (1000, "call ended")), player

    async def _end(self, session: LiveSession, ending: _Ending) -> None:
        try:
            if ending.broker_ok:
                await self.flush(session)
            await session.end(ending.reason, ending.detail)
        except StreamsError as exc:
            self.log.error("session_end_not_recorded", reason=ending.reason, error=str(exc))
        level = self.log.info if ending.reason == "complete" else self.log.warning
        level(
            "call_ended",
            reason=ending.reason,
            detail=self.context.redactor.text(ending.detail),
            audio_chunks=session.audio_chunks,
            **self.stats(),
        )

    async def _drain(self, player: asyncio.Task[None]) -> None:
        """Keep playing until the final output was sent, the peer left, or the drain timeout."""
        closed = asyncio.ensure_future(self.websocket.wait_closed())
        try:
            done, _ = await asyncio.wait(
                {player, closed}, timeout=self.settings.drain_timeout_s, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            closed.cancel()
        if not done:
            self.log.warning("final_output_not_received", waited_s=self.settings.drain_timeout_s)

    async def _player(self, outputs: asyncio.Queue[ModelOutput], session: LiveSession) -> None:
        try:
            while True:
                output = await outputs.get()
                step = self.playback.on_output(output)
                if step is None:
                    continue
                if step.cut is not None:
                    self.log.info(
                        "playback_cleared",
                        at_turn=step.cut.at_turn,
                        turns=list(step.cut.turns),
                        audio_ms=step.cut.audio_ms,
                    )
                    await session.playback("cleared", step.cut.turns, step.cut.audio_ms, at_turn=step.cut.at_turn)
                await self.play(step)
                if output.final:
                    return
        except ConnectionClosed:
            return
        except StreamsError as exc:
            self.log.error("playback_record_failed", error=str(exc))

    def _closed_because(self, exc: ConnectionClosed) -> tuple[EndReason, str]:
        if self.context.closing.is_set():
            return "aborted", "the server shut down"
        if exc.sent is not None and exc.sent.code == 1009:
            return "aborted", f"a message exceeded the limit of {self.settings.max_message_bytes} bytes"
        code = exc.rcvd.code if exc.rcvd is not None else None
        return "truncated", f"the peer closed the connection without stopping (close code {code})"

    async def _close(self, code: int, reason: str) -> None:
        shown = reason.encode()[:_CLOSE_REASON_BYTES].decode(errors="ignore")
        with contextlib.suppress(ConnectionClosed):
            await self.websocket.close(code, shown)


def _peer(websocket: ServerConnection) -> str:
    address = websocket.remote_address
    return f"{address[0]}:{address[1]}" if address else "?"
