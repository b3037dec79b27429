"""Per-session state in the model instance: limits, eviction, lost sequences, order."""

from __future__ import annotations

import pytest

from inference.errors import OutOfOrder, Overloaded, SequenceLost
from inference.sequences import SequenceRegistry


def new() -> list[int]:
    return []


def test_a_session_runs_its_turns_in_order_and_end_frees_it() -> None:
    reg: SequenceRegistry[list[int]] = SequenceRegistry(4, 60)
    state = reg.begin("a", 0, True, new, now_s=0)
    reg.commit("a", False, now_s=0)
    assert reg.begin("a", 1, False, new, now_s=1) is state
    reg.commit("a", True, now_s=1)
    assert len(reg) == 0


def test_a_request_without_start_for_an_unknown_session_is_sequence_lost() -> None:
    reg: SequenceRegistry[list[int]] = SequenceRegistry(4, 60)
    with pytest.raises(SequenceLost, match="SEQUENCE_LOST: no state for session 'x'"):
        reg.begin("x", 5, False, new, now_s=0)


def test_idle_sessions_are_evicted_and_then_lost() -> None:
    reg: SequenceRegistry[list[int]] = SequenceRegistry(4, 10)
    reg.begin("a", 0, True, new, now_s=0)
    reg.commit("a", False, now_s=0)
    assert reg.evict_idle(now_s=11) == ["a"]
    with pytest.raises(SequenceLost):
        reg.begin("a", 1, False, new, now_s=11)


def test_the_session_limit_refuses_new_sessions_as_overload() -> None:
    reg: SequenceRegistry[list[int]] = SequenceRegistry(1, 60)
    reg.begin("a", 0, True, new, now_s=0)
    reg.commit("a", False, now_s=0)
    with pytest.raises(Overloaded) as info:
        reg.begin("b", 0, True, new, now_s=0)
    assert info.value.retriable


def test_a_skipped_or_repeated_turn_is_out_of_order() -> None:
    reg: SequenceRegistry[list[int]] = SequenceRegistry(4, 60)
    reg.begin("a", 0, True, new, now_s=0)
    reg.commit("a", False, now_s=0)
    with pytest.raises(OutOfOrder, match="expects turn 1; got turn 0"):
        reg.begin("a", 0, False, new, now_s=0)


def test_start_rebuilds_a_session_from_scratch() -> None:
    reg: SequenceRegistry[list[int]] = SequenceRegistry(4, 60)
    first = reg.begin("a", 0, True, new, now_s=0)
    reg.commit("a", False, now_s=0)
    assert reg.begin("a", 0, True, new, now_s=1) is not first
