"""MonoResampler: any rate and channel layout to 16 kHz mono, with the measured tolerance."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import av
import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.media import SAMPLE_RATE
from streams.media.audio import RESAMPLE_TOLERANCE, MonoResampler
from tests.streams.media.media_helpers import dominant_hz, rms

LAYOUTS = {1: "mono", 2: "stereo", 6: "5.1"}
COMMON_RATES = [8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 88200, 96000]


def make_frame(data: npt.NDArray[Any], rate: int, pts: int, fmt: str) -> av.AudioFrame:
    """A frame of `data` (channels, samples) in sample format `fmt`, planar or packed."""
    layout = LAYOUTS[data.shape[0]]
    if not fmt.endswith("p"):  # packed formats take one plane of interleaved samples
        data = np.ascontiguousarray(data.T).reshape(1, -1)
    frame = av.AudioFrame.from_ndarray(data, format=fmt, layout=layout)
    frame.sample_rate, frame.pts, frame.time_base = rate, pts, Fraction(1, rate)
    return frame


def resample(signal: npt.NDArray[Any], rate: int, sizes: list[int], fmt: str = "fltp") -> npt.NDArray[Any]:
    """Feed `signal` (channels, n) as frames of the given sizes, cycling; return the output."""
    resampler, out, start, index = MonoResampler(), [], 0, 0
    while start < signal.shape[1]:
        size = sizes[index % len(sizes)]
        index += 1
        out += resampler.push(make_frame(signal[:, start : start + size], rate, start, fmt))
        start += size
    out += resampler.flush()
    assert resampler.source_samples == signal.shape[1]
    return np.concatenate([np.zeros(0, np.int16), *out])


def tone(rate: int, channels: int, count: int, hz: float = 440.0) -> npt.NDArray[Any]:
    wave = 0.5 * np.sin(2 * np.pi * hz * np.arange(count) / rate)
    return np.repeat(wave[None, :].astype(np.float32), channels, axis=0)


@settings(max_examples=80, deadline=None)
@given(
    rate=st.one_of(st.sampled_from(COMMON_RATES), st.integers(4000, 192_000)),
    channels=st.sampled_from([1, 2, 6]),
    seconds=st.floats(0.01, 0.6),
    sizes=st.lists(st.integers(1, 4096), min_size=1, max_size=6),
    fmt=st.sampled_from(["fltp", "s16p", "s16"]),
)
def test_output_length_matches_the_rate_ratio(
    rate: int, channels: int, seconds: float, sizes: list[int], fmt: str
) -> None:
    count = max(rate // 100, round(seconds * rate))  # at least 10 ms: see audio.py
    signal = tone(rate, channels, count)
    if fmt.startswith("s16"):
        signal = (signal * 32767).astype(np.int16)
    length = len(resample(signal, rate, sizes, fmt))
    assert abs(length - round(count * SAMPLE_RATE / rate)) <= RESAMPLE_TOLERANCE


@pytest.mark.parametrize("rate", [8000, 11025, 22050, 44100, 48000, 96000])
@pytest.mark.parametrize("channels", [1, 2, 6])
def test_a_tone_stays_the_same_tone(rate: int, channels: int) -> None:
    out = resample(tone(rate, channels, rate // 2), rate, [1024])
    assert abs(dominant_hz(out) - 440) < 4
    assert rms(out) == pytest.approx(0.5 / np.sqrt(2) * 32767, rel=0.05)


def test_format_change_midway_loses_nothing() -> None:
    resampler = MonoResampler()
    out = resampler.push(make_frame(tone(44100, 2, 4410), 44100, 0, "fltp"))
    out += resampler.push(make_frame(tone(48000, 1, 4800), 48000, 4800, "fltp"))
    out += resampler.flush()
    assert abs(sum(len(a) for a in out) - 3200) <= 2 * RESAMPLE_TOLERANCE
    assert resampler.source_seconds == Fraction(2, 10)


def test_16k_mono_s16_passes_through_unchanged() -> None:
    samples = np.arange(-500, 500, dtype=np.int16)[None, :]
    out = resample(samples, SAMPLE_RATE, [300, 77], fmt="s16p")
    np.testing.assert_array_equal(out, samples[0])
