"""The WebSocket server every ingress protocol runs in: limits and auth before the upgrade.

`IngressServer` owns what calls share (one idempotent producer, one output router) and admits
connections; a `CallProtocol` (Twilio Media Streams, raw PCM) authorizes the opening request and
runs each admitted call. Before the upgrade: an ambiguous request (a duplicated header the
protocol reads) gets 400, a refused one 403, one over the server's call limit 503 and one over
its principal's limit 429; each refusal is logged (no secrets) and counted in `refusals`. A
failing call never takes the server down: the protocol ends its session itself, and anything
that still escapes is logged and closes that connection only.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import dataclass
from types import TracebackType

import structlog
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import MultipleValuesError
from websockets.http11 import Request, Response

from streams import metrics
from streams.ingress.errors import IngressError
from streams.ingress.http import PlainAnswer, plain_post_aware
from streams.ingress.outputs import OutputRouter
from streams.ingress.settings import IngressSettings
from streams.producer import EventProducer, producer_id
from streams.redaction import Redactor

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
    refusals: Counter[str]
    """Refused connections and calls by reason (HTTP status or CallRejected class); shared, counted."""
    redactor: Redactor
    """What every call's text, keys and metadata pass before they are published (built once)."""


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

    def principal(self, request: Request) -> str:
        """Who an authorized request speaks for (calls per principal are capped); the protocol's name by default.

        Called after `authorize` accepted the request.
        """
        return self.name

    def http(self, request: Request) -> tuple[str, str] | None:
        """A plain HTTP answer for `request` as (content type, body), or None when it is no route of
        this protocol (then a GET is a WebSocket handshake and goes to `authorize`; a POST gets 405).

        Called first for every request except the health probes, GET or POST (the body is not
        passed); e.g. Twilio's voice webhook at /twiml.
        """
        return None

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
        self._admitted: weakref.WeakKeyDictionary[ServerConnection, str] = weakref.WeakKeyDictionary()
        """The principal of each admitted connection, until its call runs (weak: a handshake may still fail)."""
        self._per_principal: Counter[str] = Counter()
        self.refusals: Counter[str] = Refusals(protocol.name)
        """Refused connections and calls, by reason: "http-400", "http-403", "http-429", "http-503",
        or the CallRejected class that ended a call ("TooFast", "ProtocolError", ...)."""
        self._closing = asyncio.Event()
        self._admitted_calls = metrics.INGRESS_CALLS.labels(protocol.name)
        metrics.track_live_sessions(lambda: len(self._calls))
        self._producer = EventProducer(settings.bootstrap, settings.topics)
        self._router = OutputRouter(settings.bootstrap, settings.topics.output, settings.topics.partitions)
        self._redactor = Redactor(settings.redaction)
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
                self.refusals,
                self._redactor,
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
                    create_connection=plain_post_aware(self._post),  # e.g. Twilio's POST /twiml
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
        log.info("ingress_stopping", protocol=self._protocol.name, calls=len(self._calls), refusals=dict(self.refusals))
        try:
            if self._server is not None:
                self._server.close(close_connections=True)
                await self._server.wait_closed()
        finally:
            await self._resources.aclose()

    @property
    def ready(self) -> bool:
        """Whether new calls are taken now: listening, not shutting down, below the call limit."""
        return self._server is not None and not self._closing.is_set() and len(self._calls) < self.settings.max_calls

    def _admit(self, connection: ServerConnection, request: Request) -> Response | None:
        path = _path(request)
        if path in HEALTH_PATHS:  # probes: answered before auth, never counted or logged as refusals
            if path == "/readyz" and not self.ready:
                return connection.respond(503, "not ready\n")
            return connection.respond(200, "ok\n")
        routed = self._protocol.http(request)
        if routed is not None:
            content_type, body = routed
            response = connection.respond(200, body)
            del response.headers["Content-Type"]  # respond() set text/plain
            response.headers["Content-Type"] = content_type
            return response
        peer = _peer(connection)
        try:
            why = self._protocol.authorize(request)
            principal = self._protocol.principal(request) if why is None else ""
        except MultipleValuesError as exc:  # e.g. two Authorization headers: ambiguous, never a 500
            return self._refuse(connection, 400, "Bad Request\n", peer=peer, why=f"duplicate {exc} header")
        if why is not None:
            return self._refuse(connection, 403, "Forbidden\n", peer=peer, path=_path(request), why=why)
        if len(self._calls) >= self.settings.max_calls:
            return self._refuse(
                connection, 503, "Too many calls\n", peer=peer, why="too many calls", max_calls=self.settings.max_calls
            )
        if self._per_principal[principal] >= self.settings.principal_limit:
            return self._refuse(
                connection,
                429,
                "Too many calls for this principal\n",
                peer=peer,
                why="too many calls for this principal",
                principal=principal,
                max_calls_per_principal=self.settings.principal_limit,
            )
        self._admitted[connection] = principal
        return None

    def _post(self, request: Request) -> PlainAnswer:
        """A plain POST (a request with a body, never a WebSocket handshake): the protocol's HTTP route, else 405."""
        routed = self._protocol.http(request)
        if routed is None:
            self.refusals["http-405"] += 1
            log.warning("connection_refused", protocol=self._protocol.name, status=405, path=_path(request))
            return 405, "text/plain", "Method Not Allowed\n"
        return 200, *routed

    def _refuse(self, connection: ServerConnection, status: int, body: str, **fields: object) -> Response:
        self.refusals[f"http-{status}"] += 1
        log.warning("connection_refused", protocol=self._protocol.name, status=status, **fields)
        return connection.respond(status, body)

    async def _run_call(self, websocket: ServerConnection, context: CallContext) -> None:
        principal = self._admitted.pop(websocket, self._protocol.name)
        if len(self._calls) >= self.settings.max_calls:  # admitted concurrently with the last free place
            self.refusals["too-many-calls"] += 1
            await websocket.close(1013, "too many calls")
            return
        if self._per_principal[principal] >= self.settings.principal_limit:  # likewise, per principal
            self.refusals["too-many-calls-for-principal"] += 1
            await websocket.close(1008, "too many calls for this principal")
            return
        self._calls.add(websocket)
        self._per_principal[principal] += 1
        self._admitted_calls.inc()
        try:
            await self._protocol.handle(websocket, context)
        except Exception:  # one broken call must never stop the server; it is logged
            log.exception("call_crashed", protocol=self._protocol.name, peer=_peer(websocket))
        finally:
            self._calls.discard(websocket)
            self._per_principal[principal] -= 1
            if self._per_principal[principal] <= 0:
                del self._per_principal[principal]


HEALTH_PATHS = ("/healthz", "/readyz")
"""GET /healthz: 200 while the process serves; GET /readyz: 200 while it takes calls, else 503."""


class Refusals(Counter[str]):
    """A Counter of refusal reasons whose every increment is also counted in
    `microturn_ingress_rejections_total{protocol, reason}`."""

    def __init__(self, protocol: str) -> None:
        super().__init__()
        self._protocol = protocol

    def __setitem__(self, reason: str, count: int) -> None:
        added = count - self.get(reason, 0)
        super().__setitem__(reason, count)
        if added > 0:
            metrics.INGRESS_REJECTIONS.labels(self._protocol, reason).inc(added)


def _path(request: Request) -> str:
    """The request path without its query string (which may carry a token)."""
    return request.path.partition("?")[0]


def _peer(connection: ServerConnection) -> str:
    address = connection.remote_address
    return f"{address[0]}:{address[1]}" if address else "?"
