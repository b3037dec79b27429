"""Health probes, TwiML and metrics of the ingress servers (issue 16, items 1, 3 and 7).

Before: GET /healthz got 403 and a `connection_refused` warning per probe; there was no /twiml.
"""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

import pytest
import structlog
from prometheus_client import REGISTRY

from schemas import Topics
from streams.ingress import PcmProtocol, TwilioProtocol
from tests.streams.ingress.helpers import TOKEN, running


def _get(url: str, method: str = "GET", data: bytes | None = None) -> tuple[int, str, str]:
    request = urllib.request.Request(url, method=method, data=data)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read().decode()


def _rejections(protocol: str, reason: str) -> float:
    labels = {"protocol": protocol, "reason": reason}
    return REGISTRY.get_sample_value("microturn_ingress_rejections_total", labels) or 0.0


@pytest.mark.parametrize("protocol", [PcmProtocol(TOKEN), TwilioProtocol(TOKEN)], ids=["ws", "twilio"])
async def test_probes_answer_200_and_are_neither_refusals_nor_warnings(
    kafka_bootstrap: str, topics: Topics, protocol: PcmProtocol | TwilioProtocol
) -> None:
    forbidden_before = _rejections(protocol.name, "http-403")
    async with running(kafka_bootstrap, topics.prefix, protocol) as server:
        base = f"http://127.0.0.1:{server.port}"
        with structlog.testing.capture_logs() as logs:
            answers = [await asyncio.to_thread(_get, base + path) for path in ("/healthz", "/readyz", "/healthz?x=1")]
        assert [status for status, _, _ in answers] == [200, 200, 200]
        assert server.refusals == {}
        assert not [line for line in logs if line["event"] == "connection_refused"]
        # Anything else without credentials is still refused, logged and counted (also in /metrics).
        assert (await asyncio.to_thread(_get, base + "/"))[0] == 403
        assert server.refusals == {"http-403": 1}
        assert _rejections(protocol.name, "http-403") == forbidden_before + 1


async def test_readyz_is_503_at_the_call_limit(kafka_bootstrap: str, topics: Topics) -> None:
    async with running(kafka_bootstrap, topics.prefix, PcmProtocol(TOKEN), max_calls=1) as server:
        from websockets.asyncio.client import connect

        base = f"http://127.0.0.1:{server.port}"
        async with connect(f"ws://127.0.0.1:{server.port}/", additional_headers=[("Authorization", f"Bearer {TOKEN}")]):
            for _ in range(100):  # the call is admitted once the handshake is done
                if server.active_calls:
                    break
                await asyncio.sleep(0.05)
            assert (await asyncio.to_thread(_get, base + "/readyz"))[0] == 503
            assert (await asyncio.to_thread(_get, base + "/healthz"))[0] == 200
        assert server.refusals == {}


async def test_twiml_connects_the_call_to_this_servers_stream(kafka_bootstrap: str, topics: Topics) -> None:
    plain = TwilioProtocol(TOKEN)
    public = TwilioProtocol(TOKEN, public_url="https://calls.example.com")
    for protocol, expected in ((plain, "ws://127.0.0.1:{port}/"), (public, "wss://calls.example.com/")):
        async with running(kafka_bootstrap, topics.prefix, protocol) as server:
            status, content_type, body = await asyncio.to_thread(_get, f"http://127.0.0.1:{server.port}/twiml")
            assert status == 200 and content_type.startswith("text/xml")
            stream = ET.fromstring(body).find("./Connect/Stream")
            assert stream is not None and stream.get("url") == expected.format(port=server.port)
            # Twilio's default: a POST with the call's form (the WebSocket parser alone refuses a body).
            form = urllib.parse.urlencode({"CallSid": "CA" + "0" * 32, "From": "+15550100", "To": "+15550199"})
            posted = await asyncio.to_thread(_get, f"http://127.0.0.1:{server.port}/twiml", "POST", form.encode())
            assert posted == (status, content_type, body)
            assert server.refusals == {}
            # A POST elsewhere is refused (405) and counted; the server still takes calls and probes.
            elsewhere = await asyncio.to_thread(_get, f"http://127.0.0.1:{server.port}/", "POST", b"x=1")
            assert elsewhere[0] == 405 and server.refusals == {"http-405": 1}
            assert (await asyncio.to_thread(_get, f"http://127.0.0.1:{server.port}/healthz"))[0] == 200
    async with running(kafka_bootstrap, topics.prefix, PcmProtocol(TOKEN)) as server:  # ws has no TwiML
        assert (await asyncio.to_thread(_get, f"http://127.0.0.1:{server.port}/twiml"))[0] == 403


async def _raw(port: int, pieces: list[bytes]) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for piece in pieces:
        writer.write(piece)
        await writer.drain()
        await asyncio.sleep(0.05)
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return answer


async def test_requests_split_across_packets_are_read_whole(kafka_bootstrap: str, topics: Topics) -> None:
    async with running(kafka_bootstrap, topics.prefix, TwilioProtocol(TOKEN)) as server:
        head = b"ST /twiml HTTP/1.1\r\nHost: calls.example.com\r\nContent-Length: 9\r\n\r\n"
        posted = await _raw(server.port, [b"P", b"O", head, b"From=+155", b"5"])  # the body's last byte later
        assert posted.startswith(b"HTTP/1.1 200 OK") and b'<Stream url="ws://calls.example.com/"/>' in posted
        probed = await _raw(server.port, [b"GE", b"T /healthz HTTP/1.1\r\nHost: x\r\n\r\n"])
        assert probed.startswith(b"HTTP/1.1 200")
        too_big = await _raw(server.port, [b"POST /twiml HTTP/1.1\r\nContent-Length: 999999\r\n\r\n", b"x" * 70_000])
        assert too_big.startswith(b"HTTP/1.1 413")
        assert server.refusals == {}
