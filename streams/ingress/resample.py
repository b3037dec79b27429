"""Streaming 2x rate conversion between telephone audio (8 kHz) and the model's 16 kHz.

Both directions are a fixed windowed-sinc low-pass FIR (`TAPS` taps at 16 kHz, cut-off 3.8 kHz,
Blackman window) applied as a polyphase filter in float64 and rounded to int16, with the last
input samples kept between calls. So the output depends only on the samples pushed, never on how
they were split into frames or on the wall clock: the same call always yields the same chunks.

Sample counts are exact: n samples in give 2n (up) or n/2 (down, for even n) out. The price is a
fixed filter delay of (TAPS - 1) / 2 samples at 16 kHz (under 1 ms), which is left in place
rather than trimmed, so the session clock stays a pure count of samples.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from schemas.clock import SAMPLE_RATE

TAPS = 32
"""Length of the low-pass filter at 16 kHz (16 taps per polyphase branch)."""
CUTOFF_HZ = 3800.0
"""Cut-off of the low-pass: just under the 4 kHz Nyquist limit of telephone audio."""


def _lowpass(taps: int, cutoff_hz: float, rate_hz: float) -> npt.NDArray[np.float64]:
    n = np.arange(taps) - (taps - 1) / 2
    ideal = 2 * cutoff_hz / rate_hz * np.sinc(2 * cutoff_hz / rate_hz * n)
    window = np.blackman(taps)
    h: npt.NDArray[np.float64] = ideal * window
    normalized: npt.NDArray[np.float64] = h / h.sum()  # unity gain at DC
    return normalized


_FILTER = _lowpass(TAPS, CUTOFF_HZ, float(SAMPLE_RATE))


def _to_int16(values: npt.NDArray[np.float64]) -> npt.NDArray[np.int16]:
    return np.clip(np.rint(values), -32768, 32767).astype(np.int16)


class Upsampler:
    """8 kHz -> 16 kHz, one instance per stream; `push` every block in order."""

    def __init__(self) -> None:
        self._even = 2 * _FILTER[0::2]  # zero-stuffing halves the energy: each branch gets gain 2
        self._odd = 2 * _FILTER[1::2]
        self._history = np.zeros(len(self._even) - 1, dtype=np.float64)

    def push(self, samples: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]:
        """The 16 kHz samples of the next `len(samples)` 8 kHz samples (exactly twice as many)."""
        if not len(samples):
            return np.zeros(0, dtype=np.int16)
        extended = np.concatenate([self._history, samples.astype(np.float64)])
        self._history = extended[len(extended) - len(self._history) :]
        out = np.empty(2 * len(samples), dtype=np.float64)
        out[0::2] = np.convolve(extended, self._even, mode="valid")
        out[1::2] = np.convolve(extended, self._odd, mode="valid")
        return _to_int16(out)


class Downsampler:
    """16 kHz -> 8 kHz, one instance per stream; `push` blocks of even length, in order."""

    def __init__(self) -> None:
        self._history = np.zeros(TAPS - 1, dtype=np.float64)

    def push(self, samples: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]:
        """The 8 kHz samples of the next `len(samples)` 16 kHz samples (exactly half as many).

        Raises ValueError for an odd length: the phase of the decimation would be lost.
        """
        if len(samples) % 2:
            raise ValueError(f"Downsampler.push() needs an even number of 16 kHz samples; got {len(samples)}")
        extended = np.concatenate([self._history, samples.astype(np.float64)])
        self._history = extended[len(extended) - len(self._history) :]
        return _to_int16(np.convolve(extended, _FILTER, mode="valid")[1::2])

    def reset(self) -> None:
        """Forget the filter history (after the carrier's playback buffer was cleared)."""
        self._history[:] = 0
