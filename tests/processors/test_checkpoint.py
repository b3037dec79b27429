"""Recovery from a checkpoint rebuilds what recovery from the whole log does (pure events, no broker)."""

from __future__ import annotations

import msgspec
import pytest

from processors.assembler import SessionAssembly, TurnAssembler
from processors.checkpoint import Checkpoint, CheckpointError, decode_checkpoint, encode_checkpoint
from schemas import MicroTurn
from tests.processors.test_assembler import S, audio, run_on, text

# Text 0 waits for turn 2 when the checkpoint is taken; turn 2 is recorded after it.
BEFORE = (audio(0), audio(1), text(0, 500, "hi"))
AFTER = (audio(2), audio(3), text(1, 700, "later"), audio(4))


def shape(turns: list[MicroTurn]) -> list[tuple[int, list[str], str]]:
    return [(t.seq, list(t.event_ids), t.text) for t in turns]


def test_a_checkpointed_state_plus_the_records_after_it_closes_the_same_turns_as_the_live_run() -> None:
    live = SessionAssembly(S)
    first = run_on(live, *BEFORE)
    snapshot = encode_checkpoint(Checkpoint(0, [live], {S: 1}, {"audio": 3}, 0, 0))
    second = run_on(live, *AFTER)
    recorded = [first[-1], second[0]]  # the turns read from the checkpoint's turns offset: one it reflects, one not

    state = decode_checkpoint(snapshot).sessions[0]
    closed = TurnAssembler().restore(state, recorded, list(AFTER))

    assert shape(closed) == shape(second[1:])
    assert state == live
    assert "hi" not in [t.text for t in closed]  # included in turn 2 already, not again


def test_recovery_from_the_whole_log_agrees() -> None:
    live = SessionAssembly(S)
    turns = run_on(live, *BEFORE, *AFTER)
    state = SessionAssembly(S)
    closed = TurnAssembler().restore(state, turns[:3], [*BEFORE, *AFTER])
    assert shape(closed) == shape(turns[3:])
    assert state == live


def test_a_record_that_is_not_a_checkpoint_is_a_clear_error() -> None:
    with pytest.raises(CheckpointError, match="expected a msgpack Checkpoint"):
        decode_checkpoint(msgspec.msgpack.encode({"partition": "x"}))
