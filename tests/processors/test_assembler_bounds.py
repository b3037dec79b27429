"""Hostile event times: no event moves a session's clock further than the configured bound.

Every test here failed before the bound existed: one AudioChunk at 1,000,000 ms produced 5,001
MicroTurns, and one near 2**62 would have exhausted memory.
"""

from __future__ import annotations

import re

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processors.assembler import InputEvent, SessionAssembly, TurnAssembler
from schemas import AudioChunk, BackgroundResult, SessionEnded, SessionStarted, TextEvent, VideoFrame, event_id
from tests.processors.test_assembler import S, audio, ended, frame, started, text

JUMP_MS = 5_000
MAX_TURNS_PER_EVENT = JUMP_MS // 200 + 2


def at(event: AudioChunk | VideoFrame | TextEvent, ms: int, seq: int | None = None) -> InputEvent:
    return msgspec.structs.replace(event, event_time_ms=ms, seq=event.seq if seq is None else seq)


@pytest.mark.parametrize("ms", [1_000_000, 2**62, 2**63 - 1, 6_000])
def test_an_audio_chunk_far_ahead_of_the_open_turn_is_rejected_and_closes_nothing(ms: int) -> None:
    assembler, state = TurnAssembler(max_clock_jump_ms=JUMP_MS), SessionAssembly(S)
    assert len(assembler.apply(state, audio(0)).turns) == 1
    applied = assembler.apply(state, at(audio(1), ms, seq=1))
    assert applied.turns == [] and re.search("ahead of the session clock|longest session", applied.rejected)
    assert state.next_turn == 1
    assert [t.seq for t in assembler.apply(state, audio(2)).turns] == [1, 2]  # the session goes on


def test_a_jump_within_the_bound_still_closes_the_turns_in_between() -> None:
    assembler, state = TurnAssembler(max_clock_jump_ms=JUMP_MS), SessionAssembly(S)
    applied = assembler.apply(state, audio(25))  # the open turn 0 ends at 200 ms; 25 starts at 5000 ms
    assert not applied.rejected and [t.seq for t in applied.turns] == list(range(26))


@pytest.mark.parametrize(
    "event",
    [at(audio(0), -200), at(text(0, 0, "x"), -1), at(frame(0), -5)],
    ids=["audio", "text", "video"],
)
def test_negative_event_times_are_rejected(event: InputEvent) -> None:
    applied = TurnAssembler().apply(SessionAssembly(S), event)
    assert applied.turns == [] and "expected event_time_ms >= 0" in applied.rejected


def test_a_video_frame_far_ahead_in_a_video_clocked_session_is_rejected() -> None:
    assembler, state = TurnAssembler(max_clock_jump_ms=JUMP_MS), SessionAssembly(S)
    assembler.apply(state, started(has_audio=False, has_video=True))
    applied = assembler.apply(state, at(frame(1), 1_000_000))
    assert applied.turns == [] and "ahead of the session clock" in applied.rejected


@pytest.mark.parametrize("ms", [2**62, 10**12])
def test_text_beyond_the_longest_session_is_rejected(ms: int) -> None:
    applied = TurnAssembler(max_session_ms=3_600_000).apply(SessionAssembly(S), at(text(0, 0, "x"), ms))
    assert applied.turns == [] and "longest session" in applied.rejected


def test_text_ahead_of_a_lagging_audio_clock_waits_for_its_turn() -> None:
    assembler, state = TurnAssembler(max_clock_jump_ms=JUMP_MS), SessionAssembly(S)
    assert not assembler.apply(state, text(0, 30_000, "later")).rejected  # topics are consumed with skew
    turns = [t for k in range(151) for t in assembler.apply(state, audio(k)).turns]
    assert turns[150].text == "later"


def test_a_session_ended_announcing_an_absurd_length_is_rejected() -> None:
    assembler, state = TurnAssembler(max_session_ms=3_600_000), SessionAssembly(S)
    huge = msgspec.structs.replace(ended(0), turns=2**62, event_time_ms=2**62)
    applied = assembler.apply(state, huge)
    assert applied.turns == [] and "longest session" in applied.rejected


def test_a_session_ended_far_ahead_of_a_video_clock_closes_a_bounded_number_of_turns() -> None:
    assembler, state = TurnAssembler(max_clock_jump_ms=JUMP_MS), SessionAssembly(S)
    assembler.apply(state, started(has_audio=False, has_video=True))
    end = msgspec.structs.replace(ended(0), turns=10_000, event_time_ms=2_000_000)
    assert len(assembler.apply(state, end).turns) <= MAX_TURNS_PER_EVENT


def test_the_bound_is_checked_at_construction() -> None:
    with pytest.raises(ValueError, match="max_clock_jump_ms"):
        TurnAssembler(max_clock_jump_ms=-1)


# Fuzz: any sequence of well-typed but hostile events; apply never raises and closes a bounded number of turns.

times = st.one_of(st.integers(min_value=-(2**63), max_value=2**63 - 1), st.integers(min_value=-400, max_value=8_000))
seqs = st.one_of(st.integers(min_value=-(2**63), max_value=2**63 - 1), st.integers(min_value=0, max_value=40))
words = st.one_of(st.text(max_size=20), st.just("x" * 100_000))


def _env(stream: str, seq: int, ms: int) -> dict[str, object]:
    return {"event_id": event_id(S, stream, seq), "session_id": S, "seq": seq, "event_time_ms": ms}


hostile_events = st.one_of(
    st.builds(lambda s, t, last: AudioChunk(**_env("audio", s, t), samples=b"\x00" * 10, last=last), seqs, times,
              st.booleans()),  # type: ignore[arg-type]
    st.builds(lambda s, t: VideoFrame(**_env("video", s, t), jpeg=b"x", width=2**40, height=-1), seqs, times),  # type: ignore[arg-type]
    st.builds(lambda s, t, w: TextEvent(**_env("text", s, t), text=w), seqs, times, words),  # type: ignore[arg-type]
    st.builds(lambda s, t, w: BackgroundResult(**_env("result", s, t), task_id=w, result=w), seqs, times, words),  # type: ignore[arg-type]
    st.builds(lambda s, a, v: SessionStarted(**_env("session", s, 0), has_audio=a, has_video=v), seqs, st.booleans(),
              st.booleans()),  # type: ignore[arg-type]
    st.builds(lambda s, t, n, c: SessionEnded(**_env("session", s, t), turns=n, audio_chunks=c), seqs, times, times,
              times),  # type: ignore[arg-type]
)  # fmt: skip


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(hostile_events, max_size=30))
def test_apply_never_raises_and_closes_a_bounded_number_of_turns_per_event(events: list[InputEvent]) -> None:
    assembler, state = TurnAssembler(max_clock_jump_ms=JUMP_MS), SessionAssembly(S)
    for event in events:
        applied = assembler.apply(state, event)
        assert len(applied.turns) <= MAX_TURNS_PER_EVENT
        assert all(t.seq >= 0 for t in applied.turns)
    assert len(assembler.tick(state, 10_000, 0)) <= 50
