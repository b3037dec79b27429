"""Plain HTTP POSTs on the ingress port, which the WebSocket handshake parser refuses.

websockets parses every request as a handshake and rejects one with a body before any hook runs,
but Twilio posts its voice webhook (`POST /twiml`, a form) by default. `plain_post_aware(route)`
is a ServerConnection class that recognises a connection opening with `POST `, reads that one
request (head and body, at most MAX_REQUEST_BYTES), answers it with `route(request)` and closes;
every other connection is handed to websockets byte for byte.
"""

from __future__ import annotations

import http
from collections.abc import Callable
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.http11 import Request

MAX_REQUEST_BYTES = 64 * 1024
PlainAnswer = tuple[int, str, str]
"""(HTTP status, content type, body)."""
_POST = b"POST "


def plain_post_aware(route: Callable[[Request], PlainAnswer]) -> type[ServerConnection]:
    """A ServerConnection class answering plain POST requests with `route` (called once per request)."""

    class PlainPostAware(ServerConnection):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._sniffed = bytearray()
            self._mode = "sniff"  # then "websocket", "post" or "done"

        def data_received(self, data: bytes) -> None:
            if self._mode == "websocket":
                super().data_received(data)
                return
            if self._mode == "done":
                return
            self._sniffed += data
            if self._mode == "sniff":
                if len(self._sniffed) < len(_POST) and _POST.startswith(bytes(self._sniffed)):
                    return  # too little to tell yet
                if not self._sniffed.startswith(_POST):
                    self._mode = "websocket"
                    buffered, self._sniffed = bytes(self._sniffed), bytearray()
                    super().data_received(buffered)
                    return
                self._mode = "post"
            self._read_post()

        def _read_post(self) -> None:
            if len(self._sniffed) > MAX_REQUEST_BYTES:
                self._answer((413, "text/plain", "Request too large\n"))
                return
            head, found, body = bytes(self._sniffed).partition(b"\r\n\r\n")
            if not found:
                return
            lines = head.decode("latin-1").split("\r\n")
            request_line = lines[0].split(" ")
            headers = Headers()
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip()] = value.strip()
            try:
                length = int(headers.get("Content-Length", "0"))
            except ValueError:
                self._answer((400, "text/plain", "Bad Content-Length\n"))
                return
            if len(request_line) != 3 or length < 0:
                self._answer((400, "text/plain", "Bad request\n"))
                return
            if len(body) < length:
                return  # the rest of the body is on its way
            self._answer(route(Request(request_line[1], headers)))

        def _answer(self, answer: PlainAnswer) -> None:
            status, content_type, text = answer
            payload = text.encode()
            head = (
                f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
            )
            self._mode = "done"
            self.transport.write(head.encode() + payload)
            self.transport.close()

    return PlainPostAware
