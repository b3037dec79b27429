"""Turning decoded audio frames of any format into 16 kHz mono int16 samples.

Accuracy (measured over 8 to 96 kHz sources, 1, 2 and 6 channels, frames of 1 to 4096 samples):
for a stream of n source samples at rate r lasting at least 10 ms, the output has
``round(n * 16000 / r)`` samples give or take 1. swresample keeps a filter delay that its flush
does not return for streams shorter than about 2 ms in total, which then come out shorter
(possibly empty); no real recording is that short.
"""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import numpy.typing as npt

from streams.media.pieces import SAMPLE_RATE

RESAMPLE_TOLERANCE = 1
"""Measured bound on |output samples - round(n * 16000 / rate)| for sources of 10 ms or more."""

_Setup = tuple[str, str, int]


class MonoResampler:
    """Converts decoded `av.AudioFrame`s to 16 kHz mono int16 arrays, losing no samples.

    Call `push` with every decoded frame in order and `flush` once after the last one; the
    concatenation of everything returned is the resampled stream. A decoder that changes its
    output format, layout or rate midway (some AAC and MP3 streams do) is handled by flushing
    the current resampler and starting a new one.
    """

    def __init__(self) -> None:
        self._resampler: av.AudioResampler | None = None
        self._setup: _Setup | None = None
        self._source_seconds = Fraction(0)
        self._source_samples = 0

    @property
    def source_seconds(self) -> Fraction:
        """Duration of all source audio pushed so far, counted from frame sizes and rates."""
        return self._source_seconds

    @property
    def source_samples(self) -> int:
        """Number of source samples (per channel) pushed so far."""
        return self._source_samples

    def push(self, frame: av.AudioFrame) -> list[npt.NDArray[np.int16]]:
        """Resample one decoded frame; returns zero or more 1-D int16 arrays (16 kHz mono).

        Called for every frame the decoder produces, in decode order. The arrays may share
        memory with PyAV frames: consume or copy them before the next call.
        """
        setup: _Setup = (frame.format.name, frame.layout.name, frame.sample_rate)
        out: list[npt.NDArray[np.int16]] = []
        resampler = self._resampler
        if resampler is None or setup != self._setup:
            out.extend(self.flush())
            resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
            self._resampler, self._setup = resampler, setup
        self._source_samples += frame.samples
        self._source_seconds += Fraction(frame.samples, frame.sample_rate)
        out.extend(_samples(f) for f in resampler.resample(frame))
        return out

    def flush(self) -> list[npt.NDArray[np.int16]]:
        """Drain the resampler's delay line at the end of the stream; returns the last arrays.

        Called once after the last `push` (and internally when the source format changes).
        Without it the final few milliseconds would be lost.
        """
        if self._resampler is None:
            return []
        out = [_samples(f) for f in self._resampler.resample(None)]
        self._resampler = None
        self._setup = None
        return out


def _samples(frame: av.AudioFrame) -> npt.NDArray[np.int16]:
    """The int16 samples of a packed mono s16 frame as a 1-D array."""
    return np.asarray(frame.to_ndarray(), dtype=np.int16).reshape(-1)
