"""A live session's redaction: text, keys and metadata redacted, sensitive windows stored as
silence and flagged, and the counts in SessionEnded. The producer is an in-memory recorder: these
tests check what a session hands to Kafka, not Kafka (the integration test does that)."""

from __future__ import annotations

from typing import Any, cast

import numpy as np

from schemas import AudioChunk, Event, SessionEnded, SessionStarted, TextEvent, Topics
from streams.ingress.live import LiveSession
from streams.producer import EventProducer
from streams.redaction import RedactionSettings, Redactor

TURN = 3200
LOUD = np.full(TURN, 1000, dtype=np.int16)


class Recorder:
    """What an EventProducer would have sent, in order."""

    topics = Topics("t")

    def __init__(self) -> None:
        self.sent: list[Event] = []

    async def send(self, topic: str, event: Event) -> Any:
        self.sent.append(event)

    async def flush(self) -> None:
        pass

    def of(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.sent if isinstance(e, kind)]


def session(**settings: object) -> tuple[LiveSession, Recorder]:
    recorder = Recorder()
    redactor = Redactor(RedactionSettings(**settings))  # type: ignore[arg-type]
    return LiveSession(cast(EventProducer, recorder), "s1", "test", redactor=redactor), recorder


async def test_a_ws_window_stores_silence_flagged_and_counts_it_in_session_ended() -> None:
    live, out = session()
    await live.start("ws:peer", {}, {"caller": "+1 555 123 4567", "label": "x"})
    await live.audio(LOUD)  # turn 0: before the window
    live.sensitive(True)
    await live.audio(LOUD)  # turn 1
    await live.audio(LOUD[:1600])  # first half of turn 2
    live.sensitive(False)
    await live.audio(LOUD[:1600])  # second half of turn 2: the window closed
    await live.audio(LOUD)  # turn 3
    await live.text("mail a@b.io or 4111 1111 1111 1111", speaker="caller")
    await live.text("cvv 737", speaker="caller")
    await live.end("complete")
    chunks = sorted(out.of(AudioChunk), key=lambda c: c.seq)
    assert [c.masked for c in chunks] == [False, True, True, False]
    assert not any(chunks[1].samples) and any(chunks[0].samples) and any(chunks[3].samples)
    turn2 = np.frombuffer(chunks[2].samples, dtype="<i2")
    assert not turn2[:1600].any() and turn2[1600:].all()  # only what fell in the window is silence
    [started] = out.of(SessionStarted)
    assert started.metadata == {"caller": "[phone]", "label": "x"}
    assert [t.text for t in out.of(TextEvent)] == ["mail [email] or [card]", "cvv [cvv]"]
    [ended] = out.of(SessionEnded)
    assert {k: v for k, v in ended.stats.items() if k.startswith("redacted.")} == {
        "redacted.card": "1",
        "redacted.cvv": "1",
        "redacted.email": "1",
        "redacted.masked_chunks": "2",
        "redacted.phone": "1",
        "redacted.windows": "1",
    }


async def test_a_twilio_trigger_opens_a_window_that_times_out_on_the_session_clock() -> None:
    live, out = session(window_ms=400)
    await live.start("twilio:x", {}, {})
    await live.audio(LOUD)  # turn 0
    for key in "*4111":
        await live.key(key)
    await live.audio(LOUD)  # turn 1: in the window (opened at 200 ms)
    await live.audio(LOUD)  # turn 2: in the window still (400 ms after it opened it times out)
    await live.audio(LOUD)  # turn 3: after it
    await live.key("5")
    await live.key("#")
    await live.end("complete")
    chunks = sorted(out.of(AudioChunk), key=lambda c: c.seq)
    assert [c.masked for c in chunks] == [False, True, True, False]
    assert [(t.text, t.speaker) for t in out.of(TextEvent)] == [
        ("[masked 4 keys]", "dtmf"),
        ("5", "dtmf"),
        ("#", "dtmf"),
    ]
    [ended] = out.of(SessionEnded)
    assert ended.stats["redacted.masked_keys"] == "4" and ended.stats["redacted.masked_chunks"] == "2"


async def test_held_digits_are_released_as_one_entry_before_the_session_ends() -> None:
    live, out = session()
    await live.start("twilio:x", {}, {})
    for key in "4111111111111111":
        await live.key(key)
    await live.audio(LOUD)
    await live.end("complete")
    assert [t.text for t in out.of(TextEvent)] == ["[card]"]
    assert isinstance(out.sent[-1], SessionEnded) and out.sent[-1].stats["redacted.card"] == "1"
