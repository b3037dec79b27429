"""Dead letters keep what arrived, less what must never be stored."""

from __future__ import annotations

from prometheus_client import REGISTRY

from processors.deadletter import dead_letter


def counted(source: str, rule: str) -> float:
    return REGISTRY.get_sample_value("microturn_redactions_total", {"source": source, "rule": rule}) or 0.0


def test_dead_letters_keep_their_bytes_less_the_findings() -> None:
    value = b"\x82\xa6schema\xaatext_event\xa4text\xd9\x30" + b"my card 4111 1111 1111 1111 and jo@x.io please!!"
    before = counted("dead_letter", "raw_value")
    letter = dead_letter("t.input.text", 0, 7, b"s1", value, "bad record 4111111111111111", "worker:test")
    assert letter.raw_value == value.replace(b"4111 1111 1111 1111", b"[card]").replace(b"jo@x.io", b"[email]")
    assert letter.reason == "t.input.text[0]@7: bad record [card]" and letter.raw_key == b"s1"
    assert counted("dead_letter", "raw_value") == before + 1
