"""Full-Duplex-Bench v1-style turn-taking metrics over two timelines: the caller's speech (from a
VAD) and the model's speech (from its outputs). Pure functions of hand-checkable inputs.

Definitions (ours beside Full-Duplex-Bench v1's; docs/evaluation.md has the long form):

- A **model run** is a maximal stretch of consecutive turns in which the model makes sound (action
  SPEAK or BACKCHANNEL, or output audio above `SPEECH_DBFS`). The output of turn k is heard during
  [200(k+1), 200(k+2)) ms: the model answers turn k once turn k's input is complete. A run is a
  **takeover** when it holds at least one SPEAK turn (the model claims the floor), otherwise a
  **backchannel**. A takeover's onset is when its first SPEAK turn is heard (a backchannel that
  runs into an answer does not make the answer earlier). Full-Duplex-Bench counts a response as a
  turn when it lasts >= 1 s or has more than 3 words (ASR); we have no ASR and our tiny models'
  answers are shorter than 1 s, so the model's own SPEAK decision is the substitute.
- **Pause handling**: over labelled (or VAD-detected) mid-turn pauses [s, e), the fraction with a
  takeover whose onset is in [s, e + 200) (a decision taken during the pause is heard within one
  turn of its end). FDB: takeover rate over the pause-handling set; lower is better.
- **Backchannel**: `per_minute`, backchannel runs per minute of session (FDB: frequency); over
  labelled opportunities [s, e), `rate` = fraction with a backchannel onset in [s, e + 200) and
  `takeover_rate` = fraction with a takeover onset there (FDB: takeover rate on the backchannel
  set; lower is better).
- **Smooth turn-taking**: over turn ends [s, e) (s = end of the caller's speech), `takeover_rate` =
  fraction with a takeover onset in [s, e + 200); latency = onset - s, in seconds, over those
  taken (FDB: takeover rate and latency from the end of the user's turn to the model's response).
- **User interruption**: an interruption is a caller speech onset o while a takeover run that
  began before o is still sounding; the model **yields** when that run ends within
  `YIELD_WINDOW_MS` of o; latency = run end - o. FDB scores the model's response after the
  interruption (takeover rate, latency to response onset); we score the yield, as issue 15 asks.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from replay.evaluation.labels import Moment

TURN_MS = 200
SPEECH_DBFS = -50.0
"""Output audio louder than this (RMS over the turn) counts as model speech whatever the action."""
YIELD_WINDOW_MS = 2000
"""A model still talking this long after the caller barged in did not yield."""
PAUSE_MAX_MS = 1000
"""Unlabelled sessions: a caller silence shorter than this between two speech segments is a pause,
a longer one (or the silence after the last segment) a turn end."""

SNAP_MS = 300
"""A labelled turn end is measured from the VAD's end of caller speech nearest to it, within this."""

Span = tuple[int, int]


@dataclass(frozen=True)
class ModelTurn:
    """What the model did in one turn, as heard."""

    turn: int
    action: str
    """LISTEN, SPEAK, BACKCHANNEL or DELEGATE."""
    audio_dbfs: float
    """RMS level of the turn's output audio (-inf for silence)."""


@dataclass(frozen=True)
class Run:
    """A maximal stretch of model sound, [start_ms, end_ms) as heard."""

    start_ms: int
    end_ms: int
    takeover: bool
    """Holds a SPEAK turn (else it is a backchannel)."""
    floor_ms: int = -1
    """When its first SPEAK turn is heard (the model claims the floor); -1 for a backchannel."""

    @property
    def onset_ms(self) -> int:
        """Takeovers: when the model claims the floor; backchannels: when they start."""
        return self.floor_ms if self.takeover else self.start_ms


def model_runs(turns: Sequence[ModelTurn]) -> list[Run]:
    """The model's runs of sound; the output of turn k is heard during [200(k+1), 200(k+2))."""
    runs: list[Run] = []
    current: list[ModelTurn] = []

    def close() -> None:
        if current:
            speaks = [t.turn for t in current if t.action == "SPEAK"]
            floor = (speaks[0] + 1) * TURN_MS if speaks else -1
            runs.append(Run((current[0].turn + 1) * TURN_MS, (current[-1].turn + 2) * TURN_MS, bool(speaks), floor))
            current.clear()

    for turn in sorted(turns, key=lambda t: t.turn):
        sounding = turn.action in ("SPEAK", "BACKCHANNEL") or turn.audio_dbfs > SPEECH_DBFS
        if sounding and (not current or current[-1].turn == turn.turn - 1):
            current.append(turn)
        else:
            close()
            if sounding:
                current.append(turn)
    close()
    return runs


def moments_from_vad(caller: Sequence[Span], duration_ms: int) -> list[Moment]:
    """Pauses and turn ends of an unlabelled session: the caller's silences between speech segments
    (shorter than `PAUSE_MAX_MS`: pause; otherwise, and after the last segment: turn end)."""
    moments: list[Moment] = []
    for (_, end), (start, _) in itertools.pairwise(caller):
        kind = "pause" if start - end < PAUSE_MAX_MS else "turn_end"
        moments.append(Moment(kind, end, start))
    if caller and caller[-1][1] < duration_ms:
        moments.append(Moment("turn_end", caller[-1][1], duration_ms))
    return moments


def _onset_in(runs: Sequence[Run], moment: Moment, takeover: bool) -> Run | None:
    for run in runs:
        if run.takeover == takeover and moment.start_ms <= run.onset_ms < moment.end_ms + TURN_MS:
            return run
    return None


def _anchor(caller: Sequence[Span], at_ms: int) -> int:
    """The VAD's end of caller speech nearest `at_ms` within `SNAP_MS`, else `at_ms`."""
    ends = [end for _, end in caller if abs(end - at_ms) <= SNAP_MS]
    return min(ends, key=lambda end: abs(end - at_ms)) if ends else at_ms


def _rate(hits: int, total: int) -> float | None:
    return round(hits / total, 4) if total else None


def _latency(values: Sequence[float]) -> dict[str, float | None]:
    return {
        "mean": round(statistics.fmean(values), 4) if values else None,
        "median": round(statistics.median(values), 4) if values else None,
    }


@dataclass
class Tally:
    """Counts and latencies of one session, or summed over many (`add`)."""

    sessions: int = 0
    duration_ms: int = 0
    caller_speech_ms: int = 0
    pauses: int = 0
    pause_takeovers: int = 0
    backchannel_runs: int = 0
    backchannel_opportunities: int = 0
    backchannel_hits: int = 0
    backchannel_takeovers: int = 0
    turn_ends: int = 0
    turn_end_takeovers: int = 0
    interruptions: int = 0
    yields: int = 0
    labelled_interruptions: int = 0
    """Labelled interruption moments (applicable or not: the model may have been silent then)."""

    def __post_init__(self) -> None:
        self.turn_latencies_s: list[float] = []
        self.yield_latencies_s: list[float] = []

    def add(self, other: Tally) -> None:
        for name, value in other.__dict__.items():
            if isinstance(value, int):
                setattr(self, name, getattr(self, name) + value)
        self.turn_latencies_s.extend(other.turn_latencies_s)
        self.yield_latencies_s.extend(other.yield_latencies_s)

    def as_dict(self) -> dict[str, Any]:
        """The JSON document `microturn eval --json` prints (keys documented in docs/evaluation.md)."""
        minutes = self.duration_ms / 60_000
        return {
            "sessions": self.sessions,
            "duration_s": round(self.duration_ms / 1000, 1),
            "caller_speech_s": round(self.caller_speech_ms / 1000, 1),
            "pause": {
                "moments": self.pauses,
                "takeovers": self.pause_takeovers,
                "takeover_rate": _rate(self.pause_takeovers, self.pauses),
            },
            "backchannel": {
                "per_minute": round(self.backchannel_runs / minutes, 3) if minutes else None,
                "runs": self.backchannel_runs,
                "opportunities": self.backchannel_opportunities,
                "backchannels": self.backchannel_hits,
                "rate": _rate(self.backchannel_hits, self.backchannel_opportunities),
                "takeovers": self.backchannel_takeovers,
                "takeover_rate": _rate(self.backchannel_takeovers, self.backchannel_opportunities),
            },
            "smooth_turn_taking": {
                "turn_ends": self.turn_ends,
                "takeovers": self.turn_end_takeovers,
                "takeover_rate": _rate(self.turn_end_takeovers, self.turn_ends),
                "latency_s": _latency(self.turn_latencies_s),
            },
            "interruption": {
                "interruptions": self.interruptions,
                "labelled": self.labelled_interruptions,
                "yields": self.yields,
                "takeover_rate": _rate(self.yields, self.interruptions),
                "latency_s": _latency(self.yield_latencies_s),
            },
        }


def score(
    caller: Sequence[Span], model: Sequence[ModelTurn], duration_ms: int, moments: Sequence[Moment] | None
) -> Tally:
    """One session's tally. `caller`: caller speech segments (VAD), sorted; `moments`: labelled
    moments, or None to derive pauses and turn ends from `caller` (`moments_from_vad`)."""
    runs = model_runs(model)
    found = list(moments) if moments is not None else moments_from_vad(caller, duration_ms)
    tally = Tally(sessions=1, duration_ms=duration_ms, caller_speech_ms=sum(e - s for s, e in caller))
    tally.backchannel_runs = sum(not r.takeover for r in runs)
    for moment in found:
        if moment.kind == "pause":
            tally.pauses += 1
            tally.pause_takeovers += _onset_in(runs, moment, takeover=True) is not None
        elif moment.kind == "backchannel":
            tally.backchannel_opportunities += 1
            tally.backchannel_hits += _onset_in(runs, moment, takeover=False) is not None
            tally.backchannel_takeovers += _onset_in(runs, moment, takeover=True) is not None
        elif moment.kind == "turn_end":
            tally.turn_ends += 1
            anchor = _anchor(caller, moment.start_ms) if moments is not None else moment.start_ms
            run = _onset_in(runs, Moment("turn_end", anchor, moment.end_ms), takeover=True)
            if run is not None:
                tally.turn_end_takeovers += 1
                tally.turn_latencies_s.append((run.onset_ms - anchor) / 1000)
        elif moment.kind == "interruption":
            tally.labelled_interruptions += 1
    for onset, _ in caller:
        run = next((r for r in runs if r.takeover and r.floor_ms < onset < r.end_ms), None)
        if run is None:
            continue
        tally.interruptions += 1
        if run.end_ms - onset <= YIELD_WINDOW_MS:
            tally.yields += 1
            tally.yield_latencies_s.append((run.end_ms - onset) / 1000)
    return tally
