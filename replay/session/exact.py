"""Exact replay: the recorded turns through the recorded model version, every output compared.

The report is identical when (a) re-deriving the turns from the raw inputs gives the recorded
MicroTurns (`replay.session.assembly`) and (b) every recorded turn, run offline, gives its recorded
ModelOutput in every `OUTPUT_FIELDS` field, bit for bit, and every turn has exactly one of each.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

import structlog

from inference.network import InteractionNetwork
from replay.session.assembly import AssemblyCheck, check_assembly
from replay.session.recording import Recording
from replay.session.runner import recorded_redaction, require_version, run_turns
from schemas.clock import TURN_MS
from streams.redaction import Redactor

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Divergence:
    """One turn where the replay departs from the recording."""

    turn: int
    """The turn."""
    stage: Literal["assembly", "output"]
    """assembly: the re-derived MicroTurn differs; output: the model's output differs."""
    fields: tuple[str, ...]
    """The fields that differ (MicroTurn or ModelOutput fields, or missing_* when one side is absent)."""

    def as_dict(self) -> dict[str, Any]:
        return {"turn": self.turn, "stage": self.stage, "fields": list(self.fields)}


@dataclass(frozen=True)
class ReplayReport:
    """What an exact replay found."""

    session_id: str
    source: str
    """Where the recording was read from."""
    model_version: str
    """The recorded (and replayed) model version."""
    turns: int
    """Recorded MicroTurns replayed."""
    assembly: AssemblyCheck
    """The re-derivation of the turns from the raw inputs."""
    divergences: tuple[Divergence, ...]
    """Every divergence, assembly and output, by turn (assembly first within a turn)."""
    seconds: float
    """Time the replay took (re-derivation, model, comparison), reading the source excluded."""

    @property
    def identical(self) -> bool:
        return not self.divergences

    @property
    def first_divergence(self) -> Divergence | None:
        return self.divergences[0] if self.divergences else None

    @property
    def speed_x_realtime(self) -> float:
        """Session-clock time replayed per second of replay."""
        return self.turns * TURN_MS / 1000.0 / self.seconds if self.seconds > 0 else float("inf")

    def as_dict(self) -> dict[str, Any]:
        first = self.first_divergence
        return {
            "session_id": self.session_id,
            "turns": self.turns,
            "identical": self.identical,
            "first_divergence": first.as_dict() if first else None,
            "speed_x_realtime": round(self.speed_x_realtime, 1),
            "model_version": self.model_version,
            "source": self.source,
            "divergent_turns": len({d.turn for d in self.divergences}),
            "assembly": {
                "identical": self.assembly.identical,
                "turns": self.assembly.turns,
                "unassembled_event_ids": list(self.assembly.unassembled),
            },
        }


def replay(
    recording: Recording,
    net: InteractionNetwork,
    available: str = "the given network",
    redactor: Redactor | None = None,
) -> ReplayReport:
    """Replay `recording` exactly with `net`; WeightsUnavailable unless `net` is the recorded version.

    Outputs that were redacted live are redacted the same way here, by `redactor` (default: the
    default rules); when its digest is not the recorded one, every such turn diverges in `redaction`.
    """
    version = require_version(recording, net, available)
    bound = log.bind(session_id=recording.session_id, model_version=version)
    began = time.perf_counter()
    assembly = check_assembly(recording)
    found = [Divergence(m.turn, "assembly", m.fields) for m in assembly.mismatches]
    recorded = {o.seq: o for o in recording.outputs}
    for step in run_turns(net, recording, recorded_redaction(recording, redactor or Redactor())):
        then = recorded.pop(step.turn.seq, None)
        fields = ("missing_recorded_output",) if then is None else step.differing(then, version)
        if fields:
            found.append(Divergence(step.turn.seq, "output", fields))
    found += [Divergence(k, "output", ("missing_recorded_turn",)) for k in recorded]
    seconds = time.perf_counter() - began
    found.sort(key=lambda d: (d.turn, d.stage != "assembly"))
    report = ReplayReport(
        recording.session_id, recording.source, version, len(recording.turns), assembly, tuple(found), seconds
    )
    bound.info(
        "replayed", turns=report.turns, identical=report.identical, speed_x_realtime=round(report.speed_x_realtime, 1)
    )
    return report
