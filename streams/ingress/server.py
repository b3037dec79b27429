"""The WebSocket server every ingress protocol runs in: limits and auth before the upgrade.

`IngressServer` owns what calls share (one idempotent producer, one output router) and admits
connections; a `CallProtocol` (Twilio Media Streams, raw PCM) authorizes the opening request and
runs each admitted call. A failing call never takes the server down: the protocol ends its
session itself, and anything that still escapes is logged and closes that connection only.
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from types import TracebackType

import structlog
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from streams.ingress.errors import IngressError
from streams.ingress.outputs import OutputRouter
from streams.ingress.settings import IngressSettings
from streams.producer import EventProducer, producer_id

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class CallContext:
    """What a call handler gets from its server."""

    settings: IngressSettings
    """The server's settings (limits, timeouts, topics)."""
    producer: EventProducer
    """The shared producer every call publishes its session with."""
    outputs: OutputRouter
    """Where a call subscribes to its session's ModelOutputs."""
    producer_name: str
    """The `producer` field of every event this server sends."""
    closing: asyncio.Event
    """Set when the server shuts down: calls then end `aborted`."""


class CallProtocol(ABC):
    """One ingress protocol: who may connect, and how one call runs."""

    name: str
    """Short name, used in logs and producer ids ("twilio", "ws")."""

    @abstractmethod
    def authorize(self, request: Request) -> str | None:
        """Why the opening request is refused, or None to accept it.

        Called during the handshake, before the upgrade and before any session exists; a refusal
        is answered with HTTP 403 and logged with this reason (never sent to the peer).
        """

    @abstractmethod
    async def handle(self, websocket: ServerConnection, context: CallContext) -> None:
        """Run one admitted call to its end; called once per connection.

        Must end the call's session (SessionEnded) however the call ends, and close the socket
        with a code saying why. Exceptions that escape are logged; only this call is lost.
        """


class IngressServer:
    """Serves `protocol` on the settings' host and port; use as an async context manager."""

    def __init__(self, settings: IngressSettings, protocol: CallProtocol) -> None:
        self.settings = settings
        self._protocol = protocol
        self._calls: set[ServerConnection] = set()
        self._closing = asyncio.Event()
        self._producer = EventProducer(settings.bootstrap, settings.topics)
        self._router = OutputRouter(settings.bootstrap, settings.topics.output, settings.topics.partitions)
        self._server: Server | None = None
        self._resources = contextlib.AsyncExitStack()

    @property
    def port(self) -> int:
        """The port actually listened on (useful when the settings asked for 0)."""
        if self._server is None:
            raise RuntimeError("IngressServer.port is known only inside `async with`")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def url(self) -> str:
        """ws://host:port/ of this server."""
        return f"ws://{self.settings.host}:{self.port}/"

    @property
    def active_calls(self) -> int:
        """Calls in progress."""
        return len(self._calls)

    async def __aenter__(self) -> IngressServer:
        """Connect to Kafka, position the output router, then listen; undone in order on failure."""
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(self._producer)
            await stack.enter_async_context(self._router)
            context = CallContext(
                self.settings,
                self._producer,
                self._router,
                producer_id(f"ingress-{self._protocol.name}"),
                self._closing,
            )

            async def handler(websocket: ServerConnection) -> None:
                await self._run_call(websocket, context)

            try:
                self._server = await serve(
                    handler,
                    self.settings.host,
                    self.settings.port,
                    process_request=self._admit,
                    max_size=self.settings.max_message_bytes,
                    compression=None,  # small frames at 50 Hz: deflate costs CPU and latency for nothing
                    server_header=None,
                )
            except OSError as exc:
                raise IngressError(f"cannot listen on {self.settings.host}:{self.settings.port}: {exc}") from exc
            self._resources = stack.pop_all()
        log.info("ingress_listening", protocol=self._protocol.name, url=self.url)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Close every call (code 1001; their sessions end `aborted`), then the shared clients."""
        self._closing.set()
        try:
            if self._server is not None:
                self._server.close(close_connections=True)
                await self._server.wait_closed()
        finally:
            await self._resources.aclose()

    def _admit(self, connection: ServerConnection, request: Request) -> Response | None:
        peer = _peer(connection)
        why = self._protocol.authorize(request)
        if why is not None:
            log.warning("connection_refused", protocol=self._protocol.name, peer=peer, path=request.path, why=why)
            return connection.respond(403, "Forbidden\n")
        if len(self._calls) >= self.settings.max_calls:
            log.warning(
                "connection_refused",
                protocol=self._protocol.name,
                peer=peer,
                why="too many calls",
                max_calls=self.settings.max_calls,
            )
            return connection.respond(503, "Too many calls\n")
        return None

    async def _run_call(self, websocket: ServerConnection, context: CallContext) -> None:
        if len(self._calls) >= self.settings.max_calls:  # admitted concurrently with the last free place
            await websocket.close(1013, "too many calls")
            return
        self._calls.add(websocket)
        try:
            await self._protocol.handle(websocket, context)
        except Exception:  # one broken call must never stop the server; it is logged
            log.exception("call_crashed", protocol=self._protocol.name, peer=_peer(websocket))
        finally:
            self._calls.discard(websocket)


def _peer(connection: ServerConnection) -> str:
    address = connection.remote_address
    return f"{address[0]}:{address[1]}" if address else "?"
