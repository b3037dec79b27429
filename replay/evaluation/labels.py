"""Ground truth of a session's turn-taking moments, carried in SessionStarted.metadata.

A labelled session (a corpus dialogue streamed with `microturn stream FILE --labels FILE.json`) says
where its moments are on the session clock; `microturn eval` scores the model at exactly those
moments. An unlabelled session (a real call) gets its moments from the VAD instead
(`replay.evaluation.metrics.moments_from_vad`).

Kinds, each a window [start_ms, end_ms) on the session clock:

- "pause": a mid-turn silence of the caller (the caller goes on afterwards): the model should not
  take over;
- "turn_end": the caller has finished (start = end of the caller's speech, end = when the caller
  speaks again or the dialogue ends): the model should answer;
- "backchannel": a short silence inside a long caller turn where a listener says "mm-hm";
- "interruption": the caller starts talking over the model's answer (start = the caller's onset).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from replay.evaluation.errors import LabelError

LABELS_KEY = "eval.labels"
"""The SessionStarted.metadata key holding a session's labels (JSON, `Labels.to_json`)."""
KINDS = ("pause", "turn_end", "backchannel", "interruption")


@dataclass(frozen=True)
class Moment:
    """One labelled moment."""

    kind: str
    """One of `KINDS`."""
    start_ms: int
    """Window start on the session clock."""
    end_ms: int
    """Window end (exclusive)."""

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "start_ms": self.start_ms, "end_ms": self.end_ms}


@dataclass(frozen=True)
class Labels:
    """A session's labelled moments and its caller speech as generated (for reference only: the
    evaluation reads caller speech from the VAD, never from here)."""

    moments: tuple[Moment, ...]
    speech_ms: tuple[tuple[int, int], ...] = ()
    """Caller speech as synthesized, [start, end) per utterance part."""

    def to_json(self) -> str:
        return json.dumps(
            {"moments": [m.as_dict() for m in self.moments], "speech_ms": [list(s) for s in self.speech_ms]},
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> Labels:
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise LabelError(f"turn-taking labels: expected JSON; got {text[:60]!r} ({exc})") from exc
        if not isinstance(doc, dict) or not isinstance(doc.get("moments"), list):
            raise LabelError(f"turn-taking labels: expected an object with a 'moments' list; got {str(doc)[:80]!r}")
        moments = tuple(_moment(i, m) for i, m in enumerate(doc["moments"]))
        speech = doc.get("speech_ms", [])
        if not isinstance(speech, list) or not all(_span(s) for s in speech):
            raise LabelError(
                f"turn-taking labels: speech_ms must be a list of [start, end] ms; got {str(speech)[:80]!r}"
            )
        return cls(moments, tuple((int(a), int(b)) for a, b in speech))


def _span(value: object) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        and 0 <= value[0] <= value[1]
    )


def _moment(index: int, value: object) -> Moment:
    if not isinstance(value, dict):
        raise LabelError(f"turn-taking labels: moments[{index}] must be an object; got {value!r}")
    kind, start, end = value.get("kind"), value.get("start_ms"), value.get("end_ms")
    if kind not in KINDS:
        raise LabelError(f"turn-taking labels: moments[{index}].kind must be one of {list(KINDS)}; got {kind!r}")
    if not _span([start, end]):
        raise LabelError(
            f"turn-taking labels: moments[{index}] needs integer 0 <= start_ms <= end_ms; got {start!r}, {end!r}"
        )
    return Moment(str(kind), int(str(start)), int(str(end)))


def read_labels(path: Path) -> Labels:
    """The labels file at `path` (LabelError when unreadable or malformed)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise LabelError(f"turn-taking labels {path}: cannot read ({exc})") from exc
    return Labels.from_json(text)
