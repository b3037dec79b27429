"""Checks shared by the media tests: well-formed piece streams, reference decodes, tones."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt
import pytest

from streams.media import CHUNK_SAMPLES, SAMPLE_RATE, AudioPiece, VideoPiece
from streams.media.pieces import Piece
from streams.media.testing import missing_encoders


def require_encoders(*codecs: str) -> None:
    """Skip the calling test, naming the encoders, when this PyAV build lacks any of them."""
    missing = missing_encoders(*codecs)
    if missing:
        pytest.skip(f"this PyAV/FFmpeg build has no encoder for {', '.join(missing)}")


def split(pieces: Iterable[Piece]) -> tuple[list[AudioPiece], list[VideoPiece]]:
    """The audio and the video pieces, each in the order they came."""
    items = list(pieces)
    audio = [p for p in items if isinstance(p, AudioPiece)]
    video = [p for p in items if isinstance(p, VideoPiece)]
    assert len(audio) + len(video) == len(items)
    return audio, video


def audio_samples(audio: list[AudioPiece]) -> npt.NDArray[Any]:
    """The concatenated valid samples of audio pieces (the padding dropped)."""
    if not audio:
        return np.zeros(0, dtype=np.int16)
    return np.concatenate([p.samples[: p.valid_samples] for p in audio])


def assert_well_formed(pieces: list[Piece], *, has_audio: bool, has_video: bool) -> int:
    """Check the piece stream's invariants; return its number of turns.

    Turns are consecutive from 0; each turn has one piece per present kind, video first; audio
    pieces hold exactly CHUNK_SAMPLES int16 samples, only the last may be padded (with zeros)
    and exactly the last is flagged `last`.
    """
    kinds = [kind for kind, present in (("video", has_video), ("audio", has_audio)) if present]
    turns = len(pieces) // len(kinds)
    expected = [(turn, kind) for turn in range(turns) for kind in kinds]
    got = [(p.turn, "audio" if isinstance(p, AudioPiece) else "video") for p in pieces]
    assert got == expected
    audio, _ = split(pieces)
    for index, piece in enumerate(audio):
        final = index == len(audio) - 1
        assert piece.samples.shape == (CHUNK_SAMPLES,) and piece.samples.dtype == np.int16
        assert piece.last == final
        assert piece.padded == (piece.valid_samples < CHUNK_SAMPLES)
        assert piece.padded <= final
        assert 0 < piece.valid_samples <= CHUNK_SAMPLES
        assert not piece.samples[piece.valid_samples :].any()
    return turns


def reference_audio(path: Path) -> tuple[int, int]:
    """(source samples per channel, source rate) of the first audio stream, by plain PyAV."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(stream))
        return samples, stream.codec_context.sample_rate


def expected_resampled(source_samples: int, rate: int) -> int:
    """How many 16 kHz samples `source_samples` at `rate` become, ideally."""
    return round(source_samples * SAMPLE_RATE / rate)


def dominant_hz(samples: npt.NDArray[Any], rate: int = SAMPLE_RATE) -> float:
    """Frequency of the strongest FFT bin (windowed) of a mono signal."""
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * np.hanning(len(samples))))
    return float(np.argmax(spectrum) * rate / len(samples))


def rms(samples: npt.NDArray[Any]) -> float:
    """Root mean square of the samples, in int16 units."""
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))
