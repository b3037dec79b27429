"""What-if replay: the recorded turns through other weights or another config, differences reported.

Inputs are the recorded MicroTurns, exactly (background results included, never re-executed), so
every difference is the model's. The recorded outputs are the baseline; `model_version` is not
compared (it differs by definition). Latency compares the recorded Triton request time with the
offline step time of the new weights: both per turn, on whatever hardware each ran on.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import structlog

from replay.offline import Model
from replay.session.recording import Recording
from replay.session.runner import recorded_redaction, recorded_version, run_turns
from schemas.clock import TURN_MS
from streams.redaction import Redactor

log = structlog.get_logger(__name__)
COMPARED = ("action", "text", "audio", "delegate")
"""ModelOutput fields a what-if replay compares."""


@dataclass(frozen=True)
class TurnDifference:
    """How one turn's output changed."""

    turn: int
    fields: tuple[str, ...]
    """Which of `COMPARED` differ."""
    action: tuple[str, str]
    """(recorded, what-if)."""
    text: tuple[str, str]
    """(recorded, what-if)."""
    audio_max_abs_diff: int
    """Largest sample difference (int16 units)."""
    audio_rms_diff: float
    """RMS of the sample differences, relative to full scale."""
    model_ms: tuple[float, float]
    """(recorded Triton request, what-if offline step) in milliseconds."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "turn": self.turn,
            "fields": list(self.fields),
            "action": list(self.action),
            "text": list(self.text),
            "audio_max_abs_diff": self.audio_max_abs_diff,
            "audio_rms_diff": round(self.audio_rms_diff, 6),
            "model_ms": [round(ms, 3) for ms in self.model_ms],
        }


@dataclass(frozen=True)
class WhatIfReport:
    """What changed when the session was replayed with other weights."""

    session_id: str
    recorded_version: str
    model_version: str
    """The what-if weights' version."""
    turns: int
    differences: tuple[TurnDifference, ...]
    """Turns whose output changed, by turn."""
    recorded_text: str
    """Everything the recorded model said (text), concatenated."""
    what_if_text: str
    """Everything the what-if model said, concatenated."""
    recorded_ms: tuple[float, ...]
    """Recorded model time per turn."""
    what_if_ms: tuple[float, ...]
    """What-if step time per turn."""
    seconds: float

    @property
    def identical(self) -> bool:
        return not self.differences

    def as_dict(self) -> dict[str, Any]:
        first = self.differences[0] if self.differences else None
        changes = Counter(f"{d.action[0]}->{d.action[1]}" for d in self.differences if "action" in d.fields)
        return {
            "session_id": self.session_id,
            "turns": self.turns,
            "identical": self.identical,
            "recorded_version": self.recorded_version,
            "model_version": self.model_version,
            "first_divergence": {"turn": first.turn, "fields": list(first.fields)} if first else None,
            "turns_changed": len(self.differences),
            "actions_changed": sum(changes.values()),
            "action_changes": dict(sorted(changes.items())),
            "text_changed": sum("text" in d.fields for d in self.differences),
            "audio_changed": sum("audio" in d.fields for d in self.differences),
            "text": {"recorded": self.recorded_text, "what_if": self.what_if_text},
            "latency_ms": {
                "recorded_median": _median(self.recorded_ms),
                "what_if_median": _median(self.what_if_ms),
                "what_if_max": round(max(self.what_if_ms, default=0.0), 3),
            },
            "speed_x_realtime": round(self.turns * TURN_MS / 1000.0 / self.seconds, 1) if self.seconds else None,
            "differences": [d.as_dict() for d in self.differences],
        }


def _median(values: tuple[float, ...]) -> float | None:
    return round(statistics.median(values), 3) if values else None


def what_if(recording: Recording, net: Model, redactor: Redactor | None = None) -> WhatIfReport:
    """Replay `recording`'s turns with `net` and report every turn whose output changed; the new
    texts are redacted as the recorded ones were (`redactor`, default: the default rules)."""
    version = recorded_version(recording)
    bound = log.bind(session_id=recording.session_id, recorded_version=version, model_version=net.version)
    recorded = {o.seq: o for o in recording.outputs}
    began = time.perf_counter()
    differences, said, what_if_ms, recorded_ms = [], [], [], []
    for step in run_turns(net, recording, recorded_redaction(recording, redactor or Redactor())):
        then = recorded.get(step.turn.seq)
        said.append(step.text.decode(errors="replace"))
        what_if_ms.append(step.model_ms)
        if then is None:
            continue
        recorded_ms.append(then.model_ms)
        fields = tuple(f for f in step.differing(then, version) if f in COMPARED)
        if fields:
            peak, rms = step.audio_difference(then)
            differences.append(
                TurnDifference(
                    step.turn.seq,
                    fields,
                    (then.action, step.action),
                    (then.text, step.text.decode(errors="replace")),
                    peak,
                    rms,
                    (then.model_ms, step.model_ms),
                )
            )
    seconds = time.perf_counter() - began
    report = WhatIfReport(
        recording.session_id,
        version,
        net.version,
        len(recording.turns),
        tuple(differences),
        "".join(o.text for o in recording.outputs),
        "".join(said),
        tuple(recorded_ms),
        tuple(what_if_ms),
        seconds,
    )
    bound.info("what_if_replayed", turns=report.turns, turns_changed=len(differences))
    return report
