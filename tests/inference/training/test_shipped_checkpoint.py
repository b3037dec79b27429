"""The shipped checkpoint `inference/checkpoints/tiny-v1.pt`: it loads, it is the version we
trained, and through `step` (the real streaming path) it takes turns the way it was taught."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from inference.network import Action, InteractionNetwork, TurnInput, load_checkpoint
from inference.training.data import TOOL_HINTS, demo_session, generate_sessions
from inference.training.evaluate import evaluate, run_session

CHECKPOINT = Path(__file__).resolve().parents[3] / "inference" / "checkpoints" / "tiny-v1.pt"
VERSION = "tiny-22abdba98bf1"
"""`net.version` of the shipped checkpoint; retraining it means updating this (and the report)."""


@pytest.fixture(scope="module")
def net() -> InteractionNetwork:
    return load_checkpoint(CHECKPOINT)


def _rms(audio: npt.NDArray[np.int16]) -> float:
    return float(np.sqrt(np.mean(audio.astype(np.float64) ** 2)))


def test_it_loads_with_a_stable_digest(net: InteractionNetwork) -> None:
    assert CHECKPOINT.stat().st_size < 2 * 1024 * 1024
    assert net.config.name == "tiny"
    assert net.version == VERSION
    assert load_checkpoint(CHECKPOINT).digest == net.digest


def test_the_scripted_session_gets_every_action(net: InteractionNetwork) -> None:
    session = demo_session(net.config, seed=0)
    outs = run_session(net, session)
    by_turn = dict(zip((t.input.turn for t in session.turns), zip(session.turns, outs, strict=True), strict=True))
    # typed tool requests -> DELEGATE with a task hint
    for turn in (t.input.turn for t in session.turns if t.reason == "tool"):
        _, out = by_turn[turn]
        assert out.action is Action.DELEGATE and out.delegate, (turn, out.action, out.delegate)
        assert out.delegate.decode() in TOOL_HINTS and not out.text and _rms(out.audio) == 0.0
    # a background result -> SPEAK, with text and audible speech
    _, out = next(by_turn[t.input.turn] for t in session.turns if t.input.background)
    assert out.action is Action.SPEAK and out.text and _rms(out.audio) > 100.0
    # the caller talking -> LISTEN (nearly always)
    loud = [by_turn[t.input.turn][1].action for t in session.turns if t.reason == "loud"]
    assert sum(a is Action.LISTEN for a in loud) >= 0.9 * len(loud)
    # the first two quiet turns after the caller spoke -> BACKCHANNEL or SPEAK, audibly
    ends = [t.input.turn for prev, t in zip(session.turns, session.turns[1:], strict=False) if prev.loud and not t.loud]
    assert len(ends) == 3
    for turn in ends:
        for k in (turn, turn + 1):
            out = by_turn[k][1]
            if by_turn[k][0].reason in ("pause", "answer"):
                assert out.action in (Action.SPEAK, Action.BACKCHANNEL), (k, out.action)
                assert out.text and _rms(out.audio) > 100.0


def test_held_out_sessions_through_step(net: InteractionNetwork) -> None:
    report = evaluate(net, generate_sessions(net.config, 4242, 0, 8))
    accuracy = report.accuracy()
    assert accuracy["overall"] >= 0.9, report.to_dict()
    assert accuracy["DELEGATE"] >= 0.9 and accuracy["LISTEN"] >= 0.9, report.to_dict()


def test_a_text_only_session_delegates_and_answers_the_result(net: InteractionNetwork) -> None:
    state = net.new_state()

    def turn(k: int, text: bytes = b"", background: bytes = b"") -> Action:
        return net.step([TurnInput("text-only", k, None, None, text, background)], [state])[0].action

    assert [turn(k) for k in range(3)] == [Action.LISTEN] * 3
    assert turn(3, b"how long have I been talking?") is Action.DELEGATE
    assert turn(4) is Action.LISTEN
    assert turn(5, background=b"You have been talking for 0 min 1 s.") is Action.SPEAK


def test_trained_outputs_are_batch_invariant(net: InteractionNetwork) -> None:
    sessions = [demo_session(net.config, seed=s) for s in (0, 1)]
    alone = [run_session(net, s) for s in sessions]
    states = [net.new_state() for _ in sessions]
    together = [net.step(list(items), states) for items in zip(*(s.inputs for s in sessions), strict=True)]
    assert [[outs[i] for outs in together] for i in range(2)] == alone
