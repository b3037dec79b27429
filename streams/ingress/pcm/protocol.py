"""`PcmProtocol`: bearer-token authentication and running each PCM WebSocket call."""

from __future__ import annotations

import hmac
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request

from streams.ingress.errors import ConfigError
from streams.ingress.pcm.call import PcmCall
from streams.ingress.server import CallContext, CallProtocol

TOKEN_QUERY = "access_token"
"""Query parameter carrying the token for clients that cannot set headers (browsers)."""


class PcmProtocol(CallProtocol):
    """The PCM WebSocket protocol, authenticated by a bearer token (MICROTURN_WS_TOKEN).

    The token goes in `Authorization: Bearer <token>`, or, for browsers (whose WebSocket API
    cannot set headers), in the `access_token` query parameter; prefer the header where possible,
    as URLs end up in proxy logs.
    """

    name = "ws"

    def __init__(self, token: str) -> None:
        if not token:
            raise ConfigError("the PCM WebSocket server needs a bearer token (MICROTURN_WS_TOKEN)")
        self._token = token.encode()

    def authorize(self, request: Request) -> str | None:
        header = request.headers.get("Authorization", "")
        scheme, _, credential = header.partition(" ")
        if not header:
            credential = (parse_qs(urlsplit(request.path).query).get(TOKEN_QUERY) or [""])[0]
            if not credential:
                return "no Authorization header and no access_token parameter"
        elif scheme.lower() != "bearer":
            return f"Authorization scheme {scheme!r} is not Bearer"
        if not hmac.compare_digest(credential.strip().encode(), self._token):
            return "the bearer token does not match"
        return None

    async def handle(self, websocket: ServerConnection, context: CallContext) -> None:
        await PcmCall(websocket, context).run()
