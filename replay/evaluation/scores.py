"""Turn-taking scores: one session's, several summed, and those kept beside the archive.

`SessionScore` is one session's tally, `EvalReport` several and their sum (the `microturn eval`
document). A session is scored once, then read:

Scoring a session runs a VAD over its caller audio (about 1.6 s of CPU per session here), so a
fleet figure computed on every `report --fleet` could never be interactive. A recorded session's
score does not change once the session is over, so it is kept, one small JSON file per session, in
`<archive>/_analytics/scores/` (the archive's readers skip `_` names): `eval` and `report --fleet`
read a kept score instead of scoring again, and keep each score they compute for a session whose
final output is archived (a live session's score would change; it is computed and not kept).

Only scores of the recorded outputs are kept (a what-if score depends on the model). A file of
another `FORMAT`, or one that cannot be read, counts as missing and is written again. Like the
report's timings and the archive's `rms` column, a score is derived from when each side spoke,
never from what was said; `microturn erase` leaves it.

This module imports nothing heavy: a fleet report whose scores are all kept never loads the VAD,
nor structlog (imported where a score cannot be kept; the command line sets logging up first).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from replay.evaluation.metrics import Tally

FORMAT = "microturn.turn-taking-score.v1"
"""Written in every file; change it when scoring changes, so kept scores are computed again."""

FOLDER = ("_analytics", "scores")
"""Where scores are kept, below the archive root."""


@dataclass(frozen=True)
class SessionScore:
    """One session's turn-taking tally."""

    session_id: str
    model_version: str
    """Versions of the model that answered (comma-separated), or the what-if model's."""
    labelled: bool
    """Whether the session carries labelled moments (SessionStarted.metadata)."""
    tally: Tally


@dataclass(frozen=True)
class EvalReport:
    """Scores of several sessions and their sum."""

    model: str
    """"recorded" (the archive's outputs) or the what-if model's version."""
    sessions: tuple[SessionScore, ...]
    total: Tally = field(default_factory=Tally)

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "versions": sorted({s.model_version for s in self.sessions}),
            "labelled_sessions": sum(s.labelled for s in self.sessions),
            **self.total.as_dict(),
            "per_session": [
                {"session_id": s.session_id, "labelled": s.labelled, **s.tally.as_dict()} for s in self.sessions
            ],
        }


@dataclass(frozen=True)
class ScoreCache:
    """The kept scores of the archive at `root`."""

    root: Path

    @property
    def folder(self) -> Path:
        return self.root.joinpath(*FOLDER)

    def _path(self, session_id: str) -> Path:
        return self.folder / f"{session_id}.json"  # session ids are [A-Za-z0-9._:-]{1,128} (schemas.ids)

    def get(self, session_id: str) -> SessionScore | None:
        """The kept score of `session_id`, or None (never kept, another FORMAT, unreadable)."""
        try:
            doc = json.loads(self._path(session_id).read_text())
            if doc.get("format") != FORMAT or doc.get("session_id") != session_id:
                return None
            return _score(doc)
        except (OSError, ValueError, TypeError, KeyError):
            return None

    def put(self, score: SessionScore) -> None:
        """Keep `score` (atomically; a folder that cannot be written only costs the next report time)."""
        tally = {f.name: getattr(score.tally, f.name) for f in fields(Tally)}
        doc = {
            "format": FORMAT,
            "session_id": score.session_id,
            "model_version": score.model_version,
            "labelled": score.labelled,
            "tally": tally,
            "turn_latencies_s": score.tally.turn_latencies_s,
            "yield_latencies_s": score.tally.yield_latencies_s,
        }
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".tmp")
            with os.fdopen(fd, "w") as out:
                json.dump(doc, out)
            os.replace(tmp, self._path(score.session_id))
        except OSError as exc:
            with contextlib.suppress(OSError, UnboundLocalError):
                os.unlink(tmp)
            import structlog  # here, not at module level: reading kept scores logs nothing (start-up time)

            log = structlog.get_logger(__name__)
            log.warning("score_not_kept", session_id=score.session_id, folder=str(self.folder), reason=str(exc))


def _score(doc: dict[str, Any]) -> SessionScore:
    tally = Tally(**{f.name: int(doc["tally"][f.name]) for f in fields(Tally)})
    tally.turn_latencies_s.extend(float(v) for v in doc["turn_latencies_s"])
    tally.yield_latencies_s.extend(float(v) for v in doc["yield_latencies_s"])
    return SessionScore(str(doc["session_id"]), str(doc["model_version"]), bool(doc["labelled"]), tally)
