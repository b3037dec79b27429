"""`TwilioProtocol`: who may open a Media Stream (signature check), and running each call."""

from __future__ import annotations

from html import escape

from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request

from streams.ingress.errors import ConfigError
from streams.ingress.server import CallContext, CallProtocol
from streams.ingress.twilio.call import TwilioCall
from streams.ingress.twilio.signature import SIGNATURE_HEADER, is_valid

TWIML_PATH = "/twiml"
"""Where `serve twilio` answers Twilio's voice webhook (GET or POST) with <Connect><Stream>."""


class TwilioProtocol(CallProtocol):
    """Twilio Media Streams over WebSocket, authenticated by `X-Twilio-Signature`."""

    name = "twilio"

    def __init__(self, auth_token: str, public_url: str | None = None) -> None:
        """`auth_token`: the account's auth token (TWILIO_AUTH_TOKEN); required.

        `public_url`: scheme and host Twilio connects to (e.g. "wss://calls.example.com") when a
        proxy sits in front; by default the URL is rebuilt as ws://<Host header><path>.
        """
        if not auth_token:
            raise ConfigError("Twilio ingress needs the account's auth token (TWILIO_AUTH_TOKEN) to check signatures")
        if public_url is not None and not public_url.startswith(("ws://", "wss://", "http://", "https://")):
            raise ConfigError(f"public URL must start with ws://, wss://, http:// or https://; got {public_url!r}")
        self._token = auth_token
        self._public = public_url.rstrip("/") if public_url else None

    def signed_url(self, request: Request) -> str:
        """The URL Twilio signed for this request, as this server reconstructs it."""
        base = self._public or f"ws://{request.headers.get('Host', '')}"
        return base + request.path

    def stream_url(self, request: Request) -> str:
        """The WebSocket URL Twilio should open a Media Stream to: the public URL (http[s] mapped to
        ws[s]) or ws://<Host header>, with path /."""
        base = self._public or f"ws://{request.headers.get('Host', '')}"
        if base.startswith("http"):
            base = "ws" + base.removeprefix("http")
        return base + "/"

    def http(self, request: Request) -> tuple[str, str] | None:
        """GET or POST /twiml (Twilio's voice webhook): the TwiML that connects the call to this
        server's Media Stream. Not secret (the stream itself checks signatures), so not authenticated."""
        if request.path.partition("?")[0] != TWIML_PATH:
            return None
        url = escape(self.stream_url(request), quote=True)
        stream = f'<Response><Connect><Stream url="{url}"/></Connect></Response>\n'
        body = f'<?xml version="1.0" encoding="UTF-8"?>\n{stream}'
        return "text/xml", body

    def authorize(self, request: Request) -> str | None:
        signature = request.headers.get(SIGNATURE_HEADER)
        if not signature:
            return f"no {SIGNATURE_HEADER} header"
        url = self.signed_url(request)
        if not is_valid(self._token, url, signature):
            return f"{SIGNATURE_HEADER} is not the signature of {url}"
        return None

    async def handle(self, websocket: ServerConnection, context: CallContext) -> None:
        await TwilioCall(websocket, context).run()
