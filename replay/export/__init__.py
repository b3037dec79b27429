"""Exporting a recorded session as a file people can play: WAV (stereo audio) or MP4 (plus video, subtitles).

summary = export(recording, Path("call.mp4"))   # the format follows the suffix
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from replay.export.errors import ExportError
from replay.export.heard import ModelAudio, model_audio
from replay.export.mp4 import write_mp4
from replay.export.tracks import Tracks, lay_out
from replay.export.wav import write_wav
from replay.session.recording import Recording

log = structlog.get_logger(__name__)
FORMATS = {".wav": write_wav, ".mp4": write_mp4}
"""Writers by file suffix."""


@dataclass(frozen=True)
class ExportSummary:
    """What was written."""

    path: Path
    session_id: str
    duration_ms: int
    """Length on the session clock (every stream's length)."""
    streams: tuple[str, ...]
    """What the file holds: audio, video, subtitles."""
    cues: int
    """Subtitle cues written (MP4 only)."""
    model_audio: dict[str, Any]
    """Which model speech the file holds (`replay.export.heard.ModelAudio.as_dict`): basis "carrier" (only
    turns the carrier confirmed as played) or "unconfirmed" (no carrier: every output)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "session_id": self.session_id,
            "duration_ms": self.duration_ms,
            "streams": list(self.streams),
            "cues": self.cues,
            "model_audio": self.model_audio,
        }


def export(recording: Recording, path: Path) -> ExportSummary:
    """Write `recording` to `path` as the suffix says (.wav or .mp4); ExportError otherwise."""
    writer = FORMATS.get(path.suffix.lower())
    if writer is None:
        raise ExportError(f"export to {path}: expected a .wav or .mp4 file name; got {path.suffix or 'no suffix'!r}")
    if not path.parent.is_dir():
        raise ExportError(f"export to {path}: folder {path.parent} does not exist")
    tracks = lay_out(recording)
    if tracks.turns == 0:
        raise ExportError(f"session {recording.session_id!r} has no turns to export from {recording.source}")
    writer(tracks, path)
    summary = ExportSummary(
        path,
        recording.session_id,
        tracks.duration_ms,
        _streams(tracks, path),
        len(tracks.cues) if path.suffix.lower() == ".mp4" else 0,
        tracks.model_audio.as_dict(),
    )
    log.info(
        "exported",
        session_id=recording.session_id,
        path=str(path),
        duration_ms=summary.duration_ms,
        streams=summary.streams,
        model_audio=tracks.model_audio.basis,
    )
    return summary


def _streams(tracks: Tracks, path: Path) -> tuple[str, ...]:
    if path.suffix.lower() == ".wav":
        return ("audio",)
    return ("audio", *(("video",) if tracks.frames else ()), *(("subtitles",) if tracks.cues else ()))


__all__ = ["ExportError", "ExportSummary", "ModelAudio", "Tracks", "export", "lay_out", "model_audio"]
