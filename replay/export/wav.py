"""Writing tracks as a stereo WAV: 16 kHz, 16-bit PCM, left the caller, right the model."""

from __future__ import annotations

import wave
from pathlib import Path

from replay.export.errors import ExportError
from replay.export.tracks import Tracks
from schemas.clock import SAMPLE_RATE


def write_wav(tracks: Tracks, path: Path) -> None:
    """Write `tracks`' audio to `path` (video and subtitles have no place in a WAV)."""
    try:
        with wave.open(str(path), "wb") as out:
            out.setnchannels(2)
            out.setsampwidth(2)
            out.setframerate(SAMPLE_RATE)
            out.writeframes(tracks.stereo.astype("<i2").tobytes())
    except OSError as exc:
        raise ExportError(f"writing {path}: {exc}") from exc
