"""Re-deriving MicroTurns from raw inputs: the recorded turns come back, tampering shows as divergence."""

from __future__ import annotations

import dataclasses

import msgspec

from processors.assembler import InputEvent, SessionAssembly, TurnAssembler
from replay.session.assembly import check_assembly
from replay.session.recording import Recording
from replay.session.testing import synthetic_inputs
from schemas import AudioChunk, MicroTurn, SessionEnded, SessionStarted, TextEvent, VideoFrame, event_id


def assembled(inputs: list[InputEvent], order: list[InputEvent] | None = None) -> Recording:
    """A recording of `inputs` whose turns were assembled in arrival `order` (default: as listed)."""
    session = inputs[0].session_id
    assembler, state = TurnAssembler(), SessionAssembly(session)
    turns = [t for e in (order or inputs) for t in assembler.apply(state, e).turns]
    return Recording(session, "test", tuple(inputs), tuple(turns), ())


def with_turn(recording: Recording, seq: int, **changes: object) -> Recording:
    turns = tuple(msgspec.structs.replace(t, **changes) if t.seq == seq else t for t in recording.turns)
    return dataclasses.replace(recording, turns=turns)


def test_turns_assembled_live_are_rederived_identically() -> None:
    recording = assembled(synthetic_inputs("a", 3.0, video=True, text_every_s=1.0))
    check = check_assembly(recording)
    assert check.identical and check.turns == 15 and check.unassembled == ()


def test_late_arrivals_follow_the_recorded_order_not_the_nominal_one() -> None:
    inputs = synthetic_inputs("b", 1.0, text_every_s=0.4)  # text at 450 ms (turn 2), 850 ms (turn 4)
    late = next(e for e in inputs if isinstance(e, TextEvent))
    live = [e for e in inputs if e is not late]
    live.insert(live.index(next(e for e in live if isinstance(e, AudioChunk) and e.seq == 2)) + 1, late)
    recording = assembled(inputs, order=live)  # the text reached the worker after audio chunk 2 closed turn 2
    turn3 = recording.turns[3]
    assert late.event_id in turn3.event_ids and turn3.late_event_ids == (late.event_id,)
    assert check_assembly(recording).identical


def test_each_tampered_field_is_named() -> None:
    recording = assembled(synthetic_inputs("c", 2.0, video=True, text_every_s=0.6))
    text_turn = next(t for t in recording.turns if t.text)
    cases: list[tuple[int, dict[str, object], tuple[str, ...]]] = [
        (text_turn.seq, {"text": text_turn.text + "!"}, ("text",)),
        (2, {"audio": b"\x01" * 6400}, ("audio",)),
        (4, {"video": None}, ("video",)),
        (5, {"closed_by": "ticker"}, ("closed_by",)),
        (text_turn.seq, {"late_event_ids": text_turn.event_ids[:1]}, ("late_event_ids",)),
    ]
    for seq, changes, fields in cases:
        check = check_assembly(with_turn(recording, seq, **changes))
        assert [(m.turn, m.fields) for m in check.mismatches] == [(seq, fields)], changes


def test_an_event_in_the_wrong_turn_or_a_lost_turn_diverges() -> None:
    recording = assembled(synthetic_inputs("d", 2.0, text_every_s=0.6))
    text_turn = next(t for t in recording.turns if t.text)
    text_id = next(i for i in text_turn.event_ids if "/text/" in i)
    moved = with_turn(
        recording, text_turn.seq, text="", event_ids=tuple(i for i in text_turn.event_ids if i != text_id)
    )
    later = moved.turns[text_turn.seq + 1]
    moved = with_turn(moved, later.seq, text=text_turn.text, event_ids=(text_id, *later.event_ids))
    check = check_assembly(moved)  # recorded in the next turn but not flagged late
    assert [m.turn for m in check.mismatches] == [later.seq]
    assert "late_event_ids" in check.mismatches[0].fields
    lost = dataclasses.replace(recording, turns=recording.turns[:4] + recording.turns[5:])
    assert [(m.turn, m.fields) for m in check_assembly(lost).mismatches] == [(4, ("missing_recorded",))]


def test_an_input_no_turn_included_is_reported() -> None:
    recording = assembled(synthetic_inputs("e", 1.0))
    stray = TextEvent(event_id=event_id("e", "text", 9), session_id="e", seq=9, event_time_ms=1400, text="late")
    check = check_assembly(dataclasses.replace(recording, inputs=(*recording.inputs, stray)))
    assert check.identical and check.unassembled == (stray.event_id,)
    assert all(isinstance(t, MicroTurn) for t in recording.turns)


def _env(stream: str, seq: int, ms: int) -> dict[str, object]:
    return {"event_id": event_id("f", stream, seq), "session_id": "f", "seq": seq, "event_time_ms": ms}


def test_video_clocked_and_ticker_clocked_sessions_rederive() -> None:
    video = SessionStarted(**_env("session", 0, 0), has_audio=False, has_video=True)  # type: ignore[arg-type]
    frames = [
        VideoFrame(**_env("video", k, 200 * k), jpeg=bytes([k]), width=1, height=1)  # type: ignore[arg-type]
        for k in range(5)
    ]
    texts = [TextEvent(**_env("text", i, ms), text=f"t{i}") for i, ms in enumerate((90, 430))]  # type: ignore[arg-type]
    end = SessionEnded(**_env("session", 1, 1000), turns=5, audio_chunks=0)  # type: ignore[arg-type]
    inputs: list[InputEvent] = [video, frames[0], texts[0], frames[1], frames[2], texts[1], *frames[3:], end]
    recording = assembled(inputs)
    assert [t.closed_by for t in recording.turns] == ["video"] * 4 + ["end"]
    assert check_assembly(recording).identical
    assert not check_assembly(with_turn(recording, 1, closed_by="audio")).identical

    ticker = msgspec.structs.replace(video, has_video=False)
    assembler, state = TurnAssembler(), SessionAssembly("f")
    before_tick: list[InputEvent] = [ticker, *texts]
    turns = [t for e in before_tick for t in assembler.apply(state, e).turns]
    turns += assembler.tick(state, 600, 0) + assembler.apply(state, msgspec.structs.replace(end, turns=3)).turns
    recording = Recording("f", "test", (ticker, *texts, msgspec.structs.replace(end, turns=3)), tuple(turns), ())
    assert [t.closed_by for t in turns] == ["ticker"] * 3 + ["end"]
    assert check_assembly(recording).identical
