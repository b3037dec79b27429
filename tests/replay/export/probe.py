"""What a media file holds, as ffprobe reports it (PyAV when ffprobe is not installed)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import av


def probe(path: Path) -> dict[str, Any]:
    """{"duration": s, "streams": [{"codec_type", "codec_name", "duration", "channels", ...}]}"""
    if shutil.which("ffprobe"):
        out = subprocess.run(
            [
                "ffprobe",
                "-v",
                "error",
                "-show_entries",
                "stream=codec_type,codec_name,duration,channels,sample_rate,width,height,nb_frames:format=duration",
                "-of",
                "json",
                str(path),
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout
        doc = json.loads(out)
        streams = [{**s, "duration": float(s["duration"])} for s in doc["streams"]]
        return {"duration": float(doc["format"]["duration"]), "streams": streams, "tool": "ffprobe"}
    with av.open(str(path)) as container:
        streams = [
            {
                "codec_type": s.type,
                "codec_name": s.codec_context.name if s.codec_context else "",
                "duration": float(s.duration * s.time_base) if s.duration and s.time_base else 0.0,
                "channels": getattr(s.codec_context, "channels", None),
            }
            for s in container.streams
        ]
        return {"duration": (container.duration or 0) / av.time_base, "streams": streams, "tool": "pyav"}


def subtitles(path: Path) -> list[str]:
    """The subtitle texts of an MP4's mov_text stream, in order (read with PyAV)."""
    with av.open(str(path)) as container:
        stream = container.streams.subtitles[0]
        return [bytes(p)[2:].decode() for p in container.demux(stream) if p.size > 2]
