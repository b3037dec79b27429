"""Bad inputs and misused states raise `NetworkError` subclasses and change nothing."""

from __future__ import annotations

import numpy as np
import pytest

from inference.network import InteractionNetwork, NetworkError, TurnInput
from inference.network.errors import InputError, StateError
from inference.network.vision import fit_frame
from tests.inference.network.factory import make_turn

SILENCE = np.zeros(3200, dtype=np.int16)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"audio": np.zeros(3200, dtype=np.float32)}, r"audio: expected int16 \[3200\], got float32 \[3200\]"),
        ({"audio": np.zeros(1600, dtype=np.int16)}, r"audio: expected int16 \[3200\], got int16 \[1600\]"),
        ({"audio": [0] * 3200}, r"audio: expected a numpy int16 \[3200\] array or None, got list"),
        ({"video": np.zeros((80, 80), dtype=np.uint8)}, r"video: expected uint8 \[H, W, 3\] .*, got uint8 \[80, 80\]"),
        ({"video": np.zeros((80, 80, 3), dtype=np.float64)}, r"video: expected uint8 \[H, W, 3\] .*, got float64"),
        (
            {"video": np.zeros((2049, 4, 3), dtype=np.uint8)},
            r"video: expected uint8 \[H, W, 3\] with 1 <= H, W <= 2048, got uint8 \[2049, 4, 3\]",
        ),
        (
            {"video": np.zeros((0, 4, 3), dtype=np.uint8)},
            r"video: expected uint8 \[H, W, 3\] .*, got uint8 \[0, 4, 3\]",
        ),
        ({"text": "a str"}, r"text: expected UTF-8 bytes, got str"),
        ({"background": None}, r"background: expected UTF-8 bytes, got NoneType"),
        ({"turn": -1}, r"turn: expected an int >= 0, got -1"),
        ({"turn": True}, r"turn: expected an int >= 0, got True"),
        ({"session_key": 7}, r"session_key: expected str, got int"),
    ],
)
def test_malformed_turn_inputs_are_refused(kwargs: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {
        "session_key": "s",
        "turn": 0,
        "audio": SILENCE,
        "video": None,
        "text": b"",
        "background": b"",
    }
    with pytest.raises(InputError, match=message) as info:
        TurnInput(**{**fields, **kwargs})  # type: ignore[arg-type]
    assert isinstance(info.value, NetworkError)


def test_a_frame_of_another_size_is_resized_to_the_models_input(tiny: InteractionNetwork) -> None:
    """Any [H, W, 3] frame is taken and resized by nearest pixel centre (`fit_frame`): the same
    output as sending the resized frame, on the batched and the per-session step alike."""
    frame = np.random.default_rng(3).integers(0, 256, (64, 120, 3), dtype=np.uint8)
    fitted = fit_frame(frame, tiny.config.video_size)
    assert fitted.shape == (80, 80, 3) and fitted[0, 0].tolist() == frame[0, 0].tolist()
    assert fitted[-1, -1].tolist() == frame[-1, -1].tolist()
    for step in (tiny.step, tiny.step_per_session):
        outputs = [step([TurnInput("frame", 0, SILENCE, video)], [tiny.new_state()])[0] for video in (frame, fitted)]
        assert outputs[0] == outputs[1]
    assert fit_frame(fitted, 80) is fitted


def test_state_misuse_is_refused(tiny: InteractionNetwork) -> None:
    state = tiny.new_state()
    tiny.step([make_turn("a", 0)], [state])
    with pytest.raises(StateError, match="expected a turn after 0, got turn 0"):
        tiny.step([make_turn("a", 0)], [state])
    with pytest.raises(StateError, match="belongs to session 'a'"):
        tiny.step([make_turn("b", 1)], [state])
    with pytest.raises(StateError, match="same SessionState twice"):
        tiny.step([make_turn("a", 1), make_turn("a", 2)], [state, state])
    with pytest.raises(InputError, match="one state per input"):
        tiny.step([make_turn("a", 1)], [])
    assert state.turns_seen == 1


def test_recompute_refuses_mixed_or_unordered_history(tiny: InteractionNetwork) -> None:
    with pytest.raises(InputError, match="empty history"):
        tiny.recompute([])
    with pytest.raises(StateError, match="increasing order"):
        tiny.recompute([make_turn("a", 1), make_turn("a", 0)])
    with pytest.raises(StateError, match="increasing order"):
        tiny.recompute([make_turn("a", 0), make_turn("b", 1)])
