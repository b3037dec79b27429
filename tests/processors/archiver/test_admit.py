"""What the archiver does with each record: findings of the fuzz suite, kept as regular tests."""

from __future__ import annotations

from processors.archiver.archiver import admit
from processors.archiver.batch import EpochBatch
from processors.archiver.tables import TABLE_OF
from schemas import DeadLetter, Playback, TextEvent, encode
from schemas.audit import Chain
from tests.processors.archiver.samples import envelope


def test_invalid_utf8_inside_an_event_is_dead_lettered_not_raised() -> None:
    good = encode(TextEvent(**envelope("s", "text", 0, 0), text="a"))
    broken = good.replace(b"\xa1a", b"\xa1\x80")  # the text "a" becomes one byte that is not UTF-8
    admitted = admit("t.input.text", 2, 7, b"s", broken)
    assert isinstance(admitted.event, DeadLetter) and not admitted.refused
    assert "utf-8" in admitted.problem and admitted.event.reason.startswith("t.input.text[2]@7: ")
    assert admitted.event.raw_value == broken and admitted.event.session_id == "s"


def test_an_integer_beyond_int64_is_refused_naming_the_field() -> None:
    huge = TextEvent(**{**envelope("s", "text", 0, 0), "event_time_ms": 2**64 - 1}, text="a")
    admitted = admit("t.input.text", 0, 3, b"s", encode(huge))
    assert admitted.refused and "event_time_ms" in admitted.problem and str(2**64 - 1) in admitted.problem
    assert admit("t.input.text", 0, 4, b"s", encode(TextEvent(**envelope("s", "text", 1, 0), text="a"))).problem == ""


def test_a_record_stamped_beyond_year_9999_is_filed_not_fatal() -> None:
    event = TextEvent(**envelope("s", "text", 0, 0), text="a")
    batch = EpochBatch(roll_bytes=1 << 20, roll_age_s=60.0)
    batch.add(TABLE_OF[TextEvent], event, ("t", 0, 0, 2**62), Chain().append(event.event_id, encode(event)), 10)
    [planned] = list(batch.files(1))
    assert planned.relpath.startswith("text_event/date=9999-12-31/hour=23/")


def test_an_integer_beyond_int64_inside_a_list_is_refused_naming_the_field() -> None:
    """The fuzz suite's finding: a Playback whose `turns` holds 2**63 broke the Parquet write."""
    played = Playback(**envelope("s", "playback", 0, 0), kind="played", turns=(1, 2**63), audio_ms=400)
    admitted = admit("t.playback", 0, 5, b"s", encode(played))
    assert admitted.refused and "turns" in admitted.problem and str(2**63) in admitted.problem
    fine = Playback(**envelope("s", "playback", 1, 0), kind="played", turns=(1, 2), audio_ms=400)
    assert admit("t.playback", 0, 6, b"s", encode(fine)).problem == ""
