"""Redaction counts: per session (for SessionEnded.stats) and in the process's metrics."""

from __future__ import annotations

from prometheus_client import REGISTRY

from streams.redaction import Redactor, SessionRedaction


def counted(source: str, rule: str) -> float:
    return REGISTRY.get_sample_value("microturn_redactions_total", {"source": source, "rule": rule}) or 0.0


def test_session_counts_and_metrics_agree() -> None:
    before = counted("caller_text", "email"), counted("metadata", "phone"), counted("dtmf", "card")
    session = SessionRedaction(Redactor())
    assert session.text("a@b.io and c@d.io", 0) == "[email] and [email]"
    assert session.metadata({"caller": "+15550001"}) == {"caller": "[phone]"}
    session.keys(session.dtmf.key("4", 0))
    assert session.keys(session.dtmf.finish(100)) == ["4"]
    for key in "4111111111111111#":
        session.keys(session.dtmf.key(key, 200))
    assert session.stats() == {"redacted.card": "1", "redacted.email": "2", "redacted.phone": "1"}
    after = counted("caller_text", "email"), counted("metadata", "phone"), counted("dtmf", "card")
    assert [b - a for a, b in zip(before, after, strict=True)] == [2, 1, 1]
