"""Micro-turn assembly rules, on pure events (no broker)."""

from __future__ import annotations

import msgspec

from processors.assembler import SessionAssembly, TurnAssembler
from schemas import (
    AudioChunk,
    BackgroundResult,
    MicroTurn,
    SessionEnded,
    SessionStarted,
    TextEvent,
    VideoFrame,
    event_id,
)

S = "sess"


def audio(k: int, last: bool = False, wall: int = 0) -> AudioChunk:
    return AudioChunk(
        event_id=event_id(S, "audio", k),
        session_id=S,
        seq=k,
        event_time_ms=200 * k,
        turn=k,
        samples=bytes([k % 256]) * 6400,
        last=last,
        wall_time_ns=wall,
    )


def text(seq: int, ms: int, body: str) -> TextEvent:
    return TextEvent(event_id=event_id(S, "text", seq), session_id=S, seq=seq, event_time_ms=ms, text=body)


def frame(k: int) -> VideoFrame:
    return VideoFrame(
        event_id=event_id(S, "video", k), session_id=S, seq=k, event_time_ms=200 * k, jpeg=bytes([k]), width=1, height=1
    )


def result(seq: int, body: str) -> BackgroundResult:
    return BackgroundResult(
        event_id=event_id(S, "result", seq), session_id=S, seq=seq, event_time_ms=0, task_id=f"t{seq}", result=body
    )


def run(*events: object) -> list[MicroTurn]:
    assembler, state = TurnAssembler(), SessionAssembly(S)
    turns: list[MicroTurn] = []
    for event in events:
        turns.extend(assembler.apply(state, event).turns)  # type: ignore[arg-type]
    return turns


def test_audio_chunk_k_closes_turn_k_with_the_events_of_its_window() -> None:
    turns = run(text(0, 150, "hi"), frame(0), text(1, 250, "later"), audio(0), frame(1), audio(1))
    assert [t.seq for t in turns] == [0, 1]
    assert turns[0].text == "hi" and turns[0].video == bytes([0]) and turns[0].audio == audio(0).samples
    assert turns[1].text == "later" and turns[1].video == bytes([1])
    assert turns[0].event_ids == (event_id(S, "video", 0), event_id(S, "text", 0), event_id(S, "audio", 0))
    assert turns[0].closed_by == "audio" and not turns[0].late_event_ids


def test_an_event_after_its_turn_closed_goes_to_the_next_turn_flagged_late() -> None:
    late = text(0, 50, "too late")
    turns = run(audio(0), late, audio(1))
    assert turns[0].text == "" and turns[1].text == "too late"
    assert turns[1].late_event_ids == (late.event_id,)


def test_future_events_wait_for_their_own_turn() -> None:
    turns = run(text(0, 650, "at 650 ms"), audio(0), audio(1), audio(2), audio(3))
    assert [t.text for t in turns] == ["", "", "", "at 650 ms"]


def test_background_results_go_into_the_first_turn_closing_after_they_arrive() -> None:
    turns = run(audio(0), result(0, "answer"), audio(1), audio(2))
    assert [t.background for t in turns] == ["", "answer", ""]


def test_duplicates_are_dropped() -> None:
    turns = run(audio(0), text(0, 300, "x"), text(0, 300, "x"), audio(0), audio(1))
    assert [t.seq for t in turns] == [0, 1]
    assert turns[1].text == "x"


def test_a_missing_chunk_still_closes_the_turns_before_the_next_one() -> None:
    turns = run(audio(0), audio(2))
    assert [(t.seq, t.audio is not None) for t in turns] == [(0, True), (1, False), (2, True)]


def ended(audio_chunks: int, ms: int = 0) -> SessionEnded:
    return SessionEnded(
        event_id=event_id(S, "session", 1), session_id=S, seq=1, event_time_ms=ms, audio_chunks=audio_chunks
    )


def test_the_final_turn_waits_for_both_the_last_chunk_and_session_ended() -> None:
    turns = run(audio(0), text(0, 5000, "after the audio"), audio(1, last=True))
    assert [(t.seq, t.final) for t in turns] == [(0, False)]
    turns = run(audio(0), text(0, 5000, "after the audio"), audio(1, last=True), ended(2))
    assert [(t.seq, t.final, t.closed_by) for t in turns] == [(0, False, "audio"), (1, True, "audio")]
    assert turns[1].text == "after the audio"


def test_session_ended_overtaking_the_audio_waits_for_the_chunks_it_announces() -> None:
    turns = run(audio(0), ended(4), audio(1), audio(2), audio(3))
    assert [(t.seq, t.final) for t in turns] == [(0, False), (1, False), (2, False), (3, True)]


def test_events_after_the_final_turn_are_rejected_not_reassembled() -> None:
    assembler, state = TurnAssembler(), SessionAssembly(S)
    for event in (audio(0, last=True), ended(1)):
        assembler.apply(state, event)
    applied = assembler.apply(state, text(5, 100, "straggler"))
    assert applied.turns == [] and "already ended" in applied.rejected
    assert assembler.apply(state, audio(0)).rejected == ""  # a duplicate is simply dropped


def test_a_session_without_audio_ends_with_a_final_turn_closed_by_the_end() -> None:
    turns = run(text(0, 100, "a"), text(1, 900, "b"), ended(0, ms=1000))
    assert len(turns) == 1 and turns[0].closed_by == "end" and turns[0].final
    assert turns[0].text == "a\nb"


def test_latency_is_measured_from_the_latest_included_input() -> None:
    turns = run(audio(0, wall=10), audio(1, wall=30))
    assert [t.ingest_wall_time_ns for t in turns] == [10, 30]


def started(has_audio: bool, has_video: bool) -> SessionStarted:
    return SessionStarted(
        event_id=event_id(S, "session", 0),
        session_id=S,
        seq=0,
        event_time_ms=0,
        has_audio=has_audio,
        has_video=has_video,
    )


def test_in_a_video_only_session_frame_k_closes_the_turns_before_it() -> None:
    turns = run(started(False, True), frame(0), text(0, 250, "during turn 1"), frame(1), frame(2), ended(0, ms=600))
    assert [(t.seq, t.closed_by, t.final) for t in turns] == [
        (0, "video", False),
        (1, "video", False),
        (2, "end", True),
    ]
    assert [t.video for t in turns] == [bytes([0]), bytes([1]), bytes([2])]
    assert turns[1].text == "during turn 1"


def test_frames_that_arrive_before_session_started_wait_for_the_clock() -> None:
    turns = run(frame(0), frame(1), frame(2), started(False, True))
    assert [t.seq for t in turns] == [0, 1]


def test_the_ticker_closes_turns_of_text_only_sessions_up_to_the_elapsed_time() -> None:
    assembler, state = TurnAssembler(), SessionAssembly(S)
    assembler.apply(state, started(False, False))
    assembler.apply(state, text(0, 120, "typed"))
    turns = assembler.tick(state, session_ms=450, wall_ns=7)
    assert [(t.seq, t.closed_by, t.text) for t in turns] == [(0, "ticker", "typed"), (1, "ticker", "")]
    assert assembler.tick(state, session_ms=450, wall_ns=8) == []


def test_the_ticker_leaves_audio_sessions_alone() -> None:
    assembler, state = TurnAssembler(), SessionAssembly(S)
    assembler.apply(state, started(True, False))
    assert assembler.tick(state, session_ms=10_000, wall_ns=0) == []


def test_state_survives_a_round_trip_through_msgpack() -> None:
    assembler, state = TurnAssembler(), SessionAssembly(S)
    for event in (started(True, True), audio(0), text(0, 900, "pending"), frame(3)):
        assembler.apply(state, event)
    restored = msgspec.msgpack.decode(msgspec.msgpack.encode(state), type=SessionAssembly)
    assert restored == state
    assert [t.text for t in run_on(restored, audio(1), audio(2), audio(3), audio(4))] == ["", "", "", "pending"]


def run_on(state: SessionAssembly, *events: object) -> list[MicroTurn]:
    assembler = TurnAssembler()
    return [t for e in events for t in assembler.apply(state, e).turns]  # type: ignore[arg-type]


def test_a_tombstone_with_the_marks_tells_duplicates_from_stragglers() -> None:
    assembler, state = TurnAssembler(), SessionAssembly(S)
    for event in (audio(0, last=True), ended(1)):
        assembler.apply(state, event)
    tombstone = SessionAssembly(S, finished=True, high_water=state.high_water, results_seen=state.results_seen)
    assert assembler.apply(tombstone, audio(0)).rejected == ""
    assert "already ended" in assembler.apply(tombstone, audio(1)).rejected
