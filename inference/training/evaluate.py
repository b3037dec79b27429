"""Held-out evaluation through `InteractionNetwork.step`: the real streaming inference path, with
the KV cache, sampling generators and all, one session at a time, turn by turn."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from inference.network.network import InteractionNetwork
from inference.network.turns import Action, TurnOutput
from inference.training.data import Session

SPEECH_RMS = 100.0
"""Audio out counts as speech above this RMS (int16 units; silence is exactly 0)."""


@dataclass
class Report:
    """Counts over every evaluated turn, keyed by the labelled (expected) action."""

    turns: int = 0
    correct: int = 0
    per_action: dict[str, list[int]] = field(default_factory=dict)
    """action -> [turns labelled with it, turns where the model chose it]."""
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)
    """expected action -> chosen action -> turns."""
    per_reason: dict[str, list[int]] = field(default_factory=dict)
    """labelling rule -> [turns, correct action]."""
    bytes_exact: list[int] = field(default_factory=lambda: [0, 0])
    """[turns with the right non-LISTEN action, of which the text/delegate bytes were exactly the target]."""
    speech_audible: list[int] = field(default_factory=lambda: [0, 0])
    """[SPEAK/BACKCHANNEL outputs, of which the audio was above `SPEECH_RMS`]."""

    def add(self, expected: Action, target: bytes, reason: str, out: TurnOutput) -> None:
        hit = out.action == expected
        self.turns += 1
        self.correct += hit
        row = self.per_action.setdefault(expected.name, [0, 0])
        row[0] += 1
        row[1] += hit
        chosen = self.confusion.setdefault(expected.name, {})
        chosen[out.action.name] = chosen.get(out.action.name, 0) + 1
        rule = self.per_reason.setdefault(reason, [0, 0])
        rule[0] += 1
        rule[1] += hit
        if hit and expected is not Action.LISTEN:
            produced = out.delegate if expected is Action.DELEGATE else out.text
            self.bytes_exact[0] += 1
            self.bytes_exact[1] += produced == target
        if out.action in (Action.SPEAK, Action.BACKCHANNEL):
            rms = float(np.sqrt(np.mean(out.audio.astype(np.float64) ** 2)))
            self.speech_audible[0] += 1
            self.speech_audible[1] += rms > SPEECH_RMS

    def accuracy(self) -> dict[str, float]:
        """Per labelled action: the share of its turns where the model chose it; plus "overall"."""
        out = {name: hits / total for name, (total, hits) in sorted(self.per_action.items()) if total}
        out["overall"] = self.correct / max(1, self.turns)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "turns": self.turns,
            "accuracy": {k: round(v, 4) for k, v in self.accuracy().items()},
            "per_action": {k: {"turns": t, "correct": c} for k, (t, c) in sorted(self.per_action.items())},
            "per_rule": {k: {"turns": t, "correct": c} for k, (t, c) in sorted(self.per_reason.items())},
            "confusion": self.confusion,
            "bytes_exact": {"turns": self.bytes_exact[0], "exact": self.bytes_exact[1]},
            "speech_audible": {"outputs": self.speech_audible[0], "audible": self.speech_audible[1]},
        }


def run_session(net: InteractionNetwork, session: Session) -> list[TurnOutput]:
    """Every turn of `session` through `net.step`, in order, from a new state."""
    state = net.new_state()
    return [net.step([item], [state])[0] for item in session.inputs]


def evaluate(net: InteractionNetwork, sessions: Sequence[Session]) -> Report:
    report = Report()
    for session in sessions:
        for labeled, out in zip(session.turns, run_session(net, session), strict=True):
            report.add(labeled.action, labeled.target, labeled.reason, out)
    return report


def evaluate_by_block(net: InteractionNetwork, sessions: Sequence[Session], block: int) -> list[float]:
    """Action accuracy over turns [0, block), [block, 2 block), ... of the sessions (pooled)."""
    hits: dict[int, list[int]] = {}
    for session in sessions:
        for k, (labeled, out) in enumerate(zip(session.turns, run_session(net, session), strict=True)):
            row = hits.setdefault(k // block, [0, 0])
            row[0] += 1
            row[1] += out.action == labeled.action
    return [round(hit / total, 4) for _, (total, hit) in sorted(hits.items())]
