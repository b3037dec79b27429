"""The spoken corpus: tiny-v2's labelling rules on hand-made moments, and a generated dialogue."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from inference.training.speech import ANSWER_TURNS, dialogue, dialogue_session, load_or_make, loud_turns, turn_labels


def test_loud_turns_need_80_ms_of_speech() -> None:
    assert loud_turns([[100, 500]], 4) == [True, True, True, False]
    assert loud_turns([[130, 420]], 3) == [False, True, False]  # 70 ms in turn 0, 20 ms in turn 2


def test_labels_answer_turn_ends_backchannel_once_and_listen_through_pauses() -> None:
    loud = [True] * 3 + [False] * 6 + [True] * 2 + [False] * 3 + [True] * 2 + [False] * 2 + [True]
    moments: list[dict[str, int | str]] = [
        {"kind": "turn_end", "start_ms": 600, "end_ms": 1800},
        {"kind": "pause", "start_ms": 2200, "end_ms": 2800},
        {"kind": "backchannel", "start_ms": 3200, "end_ms": 3600},
    ]
    actions = "".join("LSB"[a] for a, _, _ in turn_labels(moments, loud))
    assert actions == "LLL" + "S" * ANSWER_TURNS + "LL" + "LL" + "LLL" + "LL" + "BL" + "L"
    texts = [t for _, t, _ in turn_labels(moments, loud)]
    assert texts[3] == b"yes." and texts[4] == b"" and texts[16] == b"mhm"


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (make setup)")
def test_a_generated_dialogue_is_deterministic_labelled_and_round_trips(tmp_path: Path) -> None:
    one, two = dialogue("heldout", 5), dialogue("heldout", 5)
    assert np.array_equal(one.audio, two.audio) and one.moments == two.moments
    assert one.audio.dtype == np.int16 and len(one.audio) > 16_000 * 5
    kinds = {m["kind"] for m in one.moments}
    assert "turn_end" in kinds
    ends = [int(m["end_ms"]) for m in one.moments]
    assert max(ends) <= len(one.audio) * 1000 // 16_000
    load_or_make(tmp_path, "heldout", 5)  # generated and written
    assert (tmp_path / "heldout" / "heldout-0005.json").exists()
    again = load_or_make(tmp_path, "heldout", 5)  # read back
    assert np.array_equal(again.audio, one.audio) and again.moments == one.moments
    session = dialogue_session(again)
    assert len(session.turns) == -(-len(one.audio) // 3200)
    assert any(t.action == 1 for t in session.turns)  # it answers somewhere
    other = dialogue("train", 5)
    assert other.audio.shape != one.audio.shape or not np.array_equal(other.audio, one.audio)


def test_a_round_draws_the_speech_share_of_its_sessions_from_the_corpus() -> None:
    from inference.network import CONFIGS, InteractionNetwork
    from inference.network.turns import Action, TurnInput
    from inference.training.data import LabeledTurn, Session
    from inference.training.train import ROUND_STEPS, TrainSettings, round_batches

    net = InteractionNetwork.seeded(CONFIGS["tiny"], 0)
    quiet = np.zeros(3200, dtype=np.int16)
    speech = [
        Session(
            f"speech-{i}",
            [LabeledTurn(TurnInput(f"speech-{i}", k, quiet, None), Action.LISTEN, b"", "idle") for k in range(3)],
        )
        for i in range(4)
    ]
    settings = TrainSettings(batch_sessions=4, speech_share=0.5)
    drawn = [s for batch in round_batches(net, settings, 0, speech) for s in batch]
    assert len(drawn) == 4 * ROUND_STEPS
    assert sum(s.key.startswith("speech-") for s in drawn) == 2 * ROUND_STEPS
    assert not any(s.key.startswith("speech-") for batch in round_batches(net, settings, 0) for s in batch)
