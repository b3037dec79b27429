"""Telling a cut or damaged file from a complete one after it decoded without an FFmpeg error.

FFmpeg decodes whatever is there and stops quietly, so three checks run after the last packet:

1. Declared durations: each decoded stream is compared with the duration its stream header
   declares and the longest with the container's; falling short by more than
   max(TRUNCATION_SLACK, TRUNCATION_RATIO * declared) means the file is cut.
2. WAV: the RIFF header declares the size of the sample data; fewer bytes on disk means a cut
   (FFmpeg clamps the declared duration to the file size, so check 1 cannot see it).
3. Ogg: the last page of a finished stream carries the end-of-stream flag (FFmpeg takes the
   duration from the last page present, so check 1 cannot see a cut either).

Damage that keeps every structure intact (garbage overwriting the middle of raw PCM) cannot be
told from audio and goes undetected. Codecs with their own framing (FLAC, MP3, AAC, Opus, VPx,
H.264) fail to decode or lose frames, which the decoder error or check 1 then reports.
"""

from __future__ import annotations

import os
import struct
from fractions import Fraction

import av
from av.container import InputContainer
from av.stream import Stream

from streams.media.errors import TruncatedStream

TRUNCATION_SLACK = Fraction(1, 2)
"""Seconds a stream may fall short of its declared duration (codec delay and padding)."""
TRUNCATION_RATIO = Fraction(1, 20)
"""Share of its declared duration a stream may fall short of it (durations FFmpeg estimated)."""
_OGG_TAIL_BYTES = 65_536  # an Ogg page is at most 65,307 bytes
_OGG_END_OF_STREAM = 0x04


def check_complete(container: InputContainer, path: str, decoded: dict[str, tuple[Stream, Fraction]]) -> None:
    """Raise TruncatedStream if the file was cut; `decoded` maps "audio"/"video" to
    (stream, seconds decoded). Called once, after the demux pass ended without an error."""
    for kind, (stream, seconds) in decoded.items():
        if stream.duration and stream.time_base is not None:
            _compare(path, kind, seconds, stream.duration * stream.time_base, "stream header")
    if decoded and container.duration:
        kind = max(decoded, key=lambda name: decoded[name][1])
        declared = Fraction(container.duration, av.time_base)
        _compare(path, kind, decoded[kind][1], declared, "container")
    reason = None
    if container.format.name == "wav":
        reason = _wav_short(path)
    elif container.format.name == "ogg":
        reason = _ogg_unfinished(path)
    if reason:
        raise TruncatedStream(f"'{path}' is truncated: {reason}", path=path)


def _compare(path: str, kind: str, decoded: Fraction, declared: Fraction, where: str) -> None:
    if declared - decoded > max(TRUNCATION_SLACK, declared * TRUNCATION_RATIO):
        raise TruncatedStream(
            f"expected {int(declared * 1000)} ms of {kind} in '{path}' (as its {where} "
            f"declares); decoding ended after {int(decoded * 1000)} ms: the file is truncated",
            path=path,
            decoded_ms=int(decoded * 1000),
            declared_ms=int(declared * 1000),
        )


def _wav_short(path: str) -> str | None:
    """Why the RIFF data chunk is cut short, or None if it is whole (or not plain RIFF)."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as handle:
            if handle.read(12)[8:12] != b"WAVE":
                return None
            position = 12
            while position + 8 <= size:
                handle.seek(position)
                chunk_id, chunk_size = struct.unpack("<4sI", handle.read(8))
                if chunk_id == b"data":
                    if chunk_size in (0, 0xFFFFFFFF):  # written by a streaming recorder: unknown
                        return None
                    present = size - position - 8
                    if present < chunk_size:
                        return f"its header declares {chunk_size} bytes of samples; {present} are there"
                    return None
                position += 8 + chunk_size + (chunk_size & 1)
    except OSError:
        return None
    return None


def _ogg_unfinished(path: str) -> str | None:
    """Why the Ogg file does not end with a closing page, or None if it does."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as handle:
            handle.seek(max(0, size - _OGG_TAIL_BYTES))
            tail = handle.read()
    except OSError:
        return None
    start = tail.rfind(b"OggS\x00")  # capture pattern and stream structure version 0
    if start < 0 or start + 27 > len(tail):
        return "no complete Ogg page at its end"
    segments = tail[start + 27 : start + 27 + tail[start + 26]]
    if start + 27 + tail[start + 26] + sum(segments) > len(tail):
        return "its last Ogg page is cut short"
    if not tail[start + 5] & _OGG_END_OF_STREAM:
        return "its last Ogg page does not carry the end-of-stream flag"
    return None
