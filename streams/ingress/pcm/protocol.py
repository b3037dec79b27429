"""`PcmProtocol`: bearer-token authentication and running each PCM WebSocket call."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request

from streams.ingress.errors import ConfigError
from streams.ingress.pcm.call import PcmCall
from streams.ingress.server import CallContext, CallProtocol

TOKEN_QUERY = "access_token"
"""Query parameter carrying the token for clients that cannot set headers (browsers)."""
DEFAULT_PRINCIPAL = "default"
"""The principal of a server made with a single token."""


class PcmProtocol(CallProtocol):
    """The PCM WebSocket protocol, authenticated by a bearer token (MICROTURN_WS_TOKEN).

    The token goes in `Authorization: Bearer <token>`, or, for browsers (whose WebSocket API
    cannot set headers), in the `access_token` query parameter; prefer the header where possible,
    as URLs end up in proxy logs. A request with the header twice is answered 400 (ambiguous),
    one with `access_token` twice 403.

    `tokens` is one token (its principal is "default") or a mapping principal -> token; each
    principal's concurrent calls are capped (`IngressSettings.max_calls_per_principal`).
    """

    name = "ws"

    def __init__(self, tokens: str | Mapping[str, str]) -> None:
        named = {DEFAULT_PRINCIPAL: tokens} if isinstance(tokens, str) else dict(tokens)
        if not named or not all(named.values()):
            raise ConfigError("the PCM WebSocket server needs a bearer token (MICROTURN_WS_TOKEN)")
        if len(set(named.values())) < len(named):
            raise ConfigError("PCM WebSocket tokens: two principals share one token; give each its own")
        self._tokens = [(principal, token.encode()) for principal, token in named.items()]

    def _credential(self, request: Request) -> tuple[str | None, str]:
        """The presented credential, or None and why it is missing or malformed."""
        header = request.headers.get("Authorization", "")  # MultipleValuesError: the server answers 400
        if not header:
            given = parse_qs(urlsplit(request.path).query).get(TOKEN_QUERY) or []
            if not given:
                return None, "no Authorization header and no access_token parameter"
            if len(given) > 1:
                return None, "more than one access_token parameter"
            return given[0], ""
        scheme, _, credential = header.partition(" ")
        if scheme.lower() != "bearer":
            return None, f"Authorization scheme {scheme[:20]!r} is not Bearer"
        return credential.strip(), ""

    def _match(self, credential: str) -> str | None:
        given = credential.encode()
        found = None
        for principal, token in self._tokens:  # compare with every token: constant time in which one matched
            if hmac.compare_digest(given, token):
                found = principal
        return found

    def authorize(self, request: Request) -> str | None:
        credential, why = self._credential(request)
        if credential is None:
            return why
        if self._match(credential) is None:
            return "the bearer token does not match"
        return None

    def principal(self, request: Request) -> str:
        credential, _ = self._credential(request)
        return (self._match(credential) if credential is not None else None) or DEFAULT_PRINCIPAL

    async def handle(self, websocket: ServerConnection, context: CallContext) -> None:
        await PcmCall(websocket, context).run()
