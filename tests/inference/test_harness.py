"""The harness baseline's decisions on hand-made turns with known answers."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from inference.errors import BadRequest
from inference.harness import Harness, HarnessSettings
from inference.network.turns import Action

LOUD = (np.sin(np.arange(3200) * 0.2) * 8000).astype(np.int16)
QUIET = np.zeros(3200, dtype=np.int16)


def run(harness: Harness, plan: str) -> str:
    """Actions for a plan of turns, 'L' loud and '.' silent: 'L'isten, 'S'peak, 'B'ackchannel."""
    state = harness.new_state()
    out = []
    for k, c in enumerate(plan):
        audio: npt.NDArray[np.int16] = LOUD if c == "L" else QUIET
        out.append("LSBD"[int(harness.step(state, k, audio).action)])
    return "".join(out)


def test_it_answers_after_the_silence_timeout_and_speaks_for_the_response_length() -> None:
    harness = Harness(HarnessSettings(silence_timeout_ms=600, response_ms=600, backchannel_after_ms=10_000))
    # speech ends with turn 2; 600 ms of silence are complete after turn 5 -> speak turns 5, 6, 7
    assert run(harness, "LLL.........") == "LLLLLSSSLLLL"


def test_it_yields_the_moment_the_caller_speaks_and_does_not_answer_twice() -> None:
    harness = Harness(HarnessSettings(silence_timeout_ms=400, response_ms=2000, backchannel_after_ms=10_000))
    assert run(harness, "LL....LL......") == "LLLSSSLLLSSSSS"


def test_a_pause_after_long_speech_gets_one_backchannel() -> None:
    harness = Harness(HarnessSettings(silence_timeout_ms=1000, backchannel_after_ms=800))
    assert run(harness, "LLLL.LLLL.LL") == "LLLLBLLLLBLL"


def test_text_and_background_results_are_answered_and_the_speech_is_audible() -> None:
    harness = Harness()
    state = harness.new_state()
    typed = harness.step(state, 0, None, text=b"hello")
    assert (typed.action, typed.text) == (Action.SPEAK, b"ok.")
    assert np.sqrt(np.mean(typed.audio.astype(np.float64) ** 2)) > 500
    result = harness.step(harness.new_state(), 0, QUIET, background=b"12*7 = 84")
    assert (result.action, result.text) == (Action.SPEAK, b"ok:")


def test_same_input_same_output_and_the_version_names_the_settings() -> None:
    one, two = Harness(), Harness()
    assert run(one, "LLL......L..") == run(two, "LLL......L..")
    assert Harness().version.startswith("harness-vad700-")
    assert Harness(HarnessSettings(silence_timeout_ms=500)).version != Harness().version


def test_bad_settings_and_bad_audio_are_refused_with_what_arrived() -> None:
    with pytest.raises(ValueError, match="silence_timeout_ms: expected a multiple of 20 ms"):
        HarnessSettings(silence_timeout_ms=710)
    with pytest.raises(ValueError, match="expected a number; got 'soon'"):
        HarnessSettings.from_params({"silence_timeout_ms": "soon"})
    assert HarnessSettings.from_params({"silence_timeout_ms": "500", "response_ms": ""}).silence_timeout_ms == 500
    with pytest.raises(BadRequest, match=r"AUDIO must be int16 \[3200\]; got \[100\]"):
        Harness().step(Harness.new_state(), 0, np.zeros(100, dtype=np.int16))
