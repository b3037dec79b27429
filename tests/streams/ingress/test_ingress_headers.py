"""Duplicated authentication headers are refused with 400, never a 500 (issue 12, item 18).

Before: two `Authorization`, `X-Twilio-Signature` or `Host` headers raised MultipleValuesError
in the handshake hook: HTTP 500 and a traceback in the log.
"""

from __future__ import annotations

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from schemas import Topics
from streams.ingress import PcmProtocol, TwilioProtocol
from streams.ingress.twilio.signature import SIGNATURE_HEADER, sign
from tests.streams.ingress.helpers import TOKEN, running


async def _status(url: str, headers: list[tuple[str, str]]) -> int:
    with pytest.raises(InvalidStatus) as refused:
        await connect(url, additional_headers=headers)
    return refused.value.response.status_code


async def test_two_authorization_headers_get_400(kafka_bootstrap: str, topics: Topics) -> None:
    async with running(kafka_bootstrap, topics.prefix, PcmProtocol(TOKEN)) as server:
        url = f"ws://127.0.0.1:{server.port}/"
        bearer = ("Authorization", f"Bearer {TOKEN}")
        assert await _status(url, [bearer, ("Authorization", "Bearer other")]) == 400
        assert await _status(url, [bearer, bearer]) == 400
        assert await _status(f"{url}?access_token={TOKEN}&access_token=x", []) == 403
        assert server.refusals["http-400"] == 2 and server.refusals["http-403"] == 1
        websocket = await connect(url, additional_headers=[bearer])  # the server is still up
        await websocket.close()


async def test_two_signatures_or_two_hosts_get_400(kafka_bootstrap: str, topics: Topics) -> None:
    async with running(kafka_bootstrap, topics.prefix, TwilioProtocol(TOKEN)) as server:
        url = f"ws://127.0.0.1:{server.port}/calls"
        signed = (SIGNATURE_HEADER, sign(TOKEN, url))
        assert await _status(url, [signed, (SIGNATURE_HEADER, "bm90IGEgc2lnbmF0dXJl")]) == 400
        assert await _status(url, [signed, ("Host", "elsewhere.example.com")]) == 400
        assert server.refusals["http-400"] == 2
        websocket = await connect(url, additional_headers=[signed])
        await websocket.close()
