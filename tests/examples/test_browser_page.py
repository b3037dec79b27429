"""examples/browser/index.html speaks the PCM WebSocket protocol the server implements."""

from __future__ import annotations

import re
from pathlib import Path

from streams.ingress.pcm import messages

PAGE = (Path(__file__).parents[2] / "examples" / "browser" / "index.html").read_text()


def test_every_message_the_page_sends_parses_on_the_server() -> None:
    sent = re.findall(r"JSON\.stringify\(\{ type: \"(\w+)\"", PAGE)
    assert set(sent) == {"start", "mark", "stop", "text"}
    samples = {
        "start": '{"type": "start", "label": "browser", "sample_rate": 16000, "encoding": "s16le", "channels": 1}',
        "mark": '{"type": "mark", "name": "turn-3"}',
        "stop": '{"type": "stop"}',
        "text": '{"type": "text", "text": "hello"}',
    }
    for kind in sent:
        assert type(messages.parse(samples[kind])).__name__.lower() == kind


def test_the_page_handles_the_messages_the_server_sends() -> None:
    handled = set(re.findall(r"message\.type === \"(\w+)\"", PAGE))
    server = set(re.findall(r"\"type\": \"(\w+)\"", Path(messages.__file__).read_text()))
    assert handled == server - {"start", "text", "mark", "stop", "sensitive"} | {"mark"}  # minus client messages
    assert "access_token" in PAGE  # browsers cannot set Authorization on a WebSocket
