"""The streaming 2x resamplers: exact sample counts, independent of framing, telephone band kept."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from streams.ingress.resample import TAPS, Downsampler, Upsampler


def tone(freq: float, rate: int, seconds: float = 1.0, amplitude: float = 10_000.0) -> npt.NDArray[np.int16]:
    t = np.arange(int(rate * seconds)) / rate
    samples: npt.NDArray[np.int16] = (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.int16)
    return samples


def test_upsampling_doubles_the_count_and_does_not_depend_on_how_the_stream_is_split() -> None:
    x = tone(440.0, 8000)
    whole = Upsampler().push(x)
    up = Upsampler()
    sizes = [160, 1, 7, 333, 160, 0, 2000]
    parts, pos = [], 0
    for size in sizes:
        parts.append(up.push(x[pos : pos + size]))
        pos += size
    parts.append(up.push(x[pos:]))
    assert len(whole) == 2 * len(x)
    assert np.array_equal(np.concatenate(parts), whole)


@pytest.mark.parametrize("freq", [300.0, 1000.0, 2500.0])
def test_a_telephone_band_tone_comes_out_at_16_khz_with_the_filter_delay(freq: float) -> None:
    out = Upsampler().push(tone(freq, 8000)).astype(np.float64)
    t = (np.arange(len(out)) - (TAPS - 1) / 2) / 16_000
    reference = 10_000 * np.sin(2 * np.pi * freq * t)
    steady = slice(TAPS, -TAPS)
    assert np.abs(out[steady] - reference[steady]).max() < 0.03 * 10_000


def test_upsampling_leaves_almost_no_image_above_4_khz() -> None:
    out = Upsampler().push(tone(1000.0, 8000)).astype(np.float64)
    spectrum = np.abs(np.fft.rfft(out * np.hanning(len(out))))
    assert spectrum[7000] < 1e-3 * spectrum[1000]  # the 7 kHz image is > 60 dB down


def test_downsampling_halves_the_count_keeps_the_band_and_refuses_odd_blocks() -> None:
    x = tone(1000.0, 16_000)
    down = Downsampler()
    out = np.concatenate([down.push(x[i : i + 3200]) for i in range(0, len(x), 3200)])
    assert len(out) == len(x) // 2
    assert abs(np.abs(out[100:]).max() - 10_000) < 300
    with pytest.raises(ValueError, match="even number"):
        Downsampler().push(x[:3])
