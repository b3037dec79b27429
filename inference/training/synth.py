"""Synthetic media for training sessions: speech-like voiced bursts, other loud sounds, noise
floors and simple video frames. Everything is drawn from a caller-supplied numpy `Generator`, so a
session is a pure function of its seed.

Speech is a glottal-like harmonic source (f0 90-260 Hz with drift and vibrato) shaped by two
formants that move from syllable to syllable, under a syllable-rate amplitude envelope: the same
kind of signal as the bundled sample call (`streams/samples/call.wav`), at random levels. Other
loud sounds (tones, noise bursts, chirps) stand for everything else a caller's line may carry; the
model is taught to treat any loud turn as the caller holding the floor.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from inference.network.config import SAMPLE_RATE, TURN_SAMPLES

Wave = npt.NDArray[np.float64]

_TABLE = 256
"""Samples of one glottal period in the speech wavetable."""

LOUD_KINDS = ("speech", "speech", "speech", "speech", "speech", "speech", "tone", "noise", "chirp")
"""Kinds of loud runs, drawn uniformly (speech six times in nine)."""


def noise_floor(rng: np.random.Generator, samples: int) -> Wave:
    """Line noise of a silent stretch: white-ish noise at a random level (RMS 0-400), sometimes
    digital silence, sometimes with mains hum."""
    kind = rng.random()
    if kind < 0.08:
        return np.zeros(samples)
    level = float(np.exp(rng.uniform(np.log(8.0), np.log(400.0))))
    wave = rng.standard_normal(samples) * level
    if rng.random() < 0.5:  # colour it a little (telephone lines are not white)
        wave = np.convolve(wave, np.ones(3) / 3.0, mode="same") * np.sqrt(3.0)
    if kind > 0.85:
        t = np.arange(samples) / SAMPLE_RATE
        wave += level * np.sin(2 * np.pi * rng.choice([50.0, 60.0]) * t + rng.uniform(0, 2 * np.pi))
    return wave


def speech(rng: np.random.Generator, samples: int) -> Wave:
    """Voiced speech-like sound of `samples` samples at unit-ish RMS (the caller scales it)."""
    t = np.arange(samples) / SAMPLE_RATE
    f0_base = rng.uniform(90.0, 260.0)
    drift = np.interp(t, [0.0, t[-1] + 1e-9], rng.uniform(0.85, 1.15, 2))
    vibrato = 1.0 + rng.uniform(0.0, 0.04) * np.sin(2 * np.pi * rng.uniform(3.0, 7.0) * t + rng.uniform(0, 6.3))
    f0 = f0_base * drift * vibrato
    phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
    cutoff = 3400.0 if rng.random() < 0.4 else 7000.0  # telephone band sometimes
    harmonics = max(1, int(min(cutoff, 7000.0) // (f0_base * 1.2)))
    # syllables: each has its own formants; amplitudes per harmonic follow two resonances. One period
    # of each syllable's waveform goes into a wavetable read at the running glottal phase.
    cycle = phase / (2 * np.pi)
    position = (cycle - np.floor(cycle)) * _TABLE
    index = position.astype(np.int64)
    frac = position - index
    grid = np.arange(_TABLE + 1) * (2 * np.pi / _TABLE)
    k = np.arange(1, harmonics + 1)[:, None]
    freq = k * f0_base
    out = np.zeros(samples)
    start = 0
    while start < samples:
        length = int(rng.uniform(0.09, 0.26) * SAMPLE_RATE)
        stop = min(samples, start + length)
        f1, f2 = rng.uniform(280.0, 900.0), rng.uniform(900.0, 2600.0)
        amp = (1.0 / (1.0 + ((freq - f1) / 180.0) ** 2) + 0.5 / (1.0 + ((freq - f2) / 260.0) ** 2) + 0.02) / np.sqrt(k)
        table = (amp * np.sin(k * grid[None, :])).sum(axis=0)
        i, f = index[start:stop], frac[start:stop]
        segment = table[i] * (1.0 - f) + table[i + 1] * f
        env = np.sin(np.pi * (np.arange(stop - start) + 0.5) / max(1, stop - start)) ** 0.6
        floor = rng.uniform(0.25, 0.6)  # syllable dips never reach silence inside a run
        out[start:stop] = segment * (floor + (1 - floor) * env)
        start = stop
    if rng.random() < 0.5:  # a little aspiration noise
        out += rng.standard_normal(samples) * rng.uniform(0.02, 0.1) * out.std()
    scaled: Wave = out / max(float(out.std()), 1e-9)
    return scaled


def other_loud(kind: str, rng: np.random.Generator, samples: int) -> Wave:
    """A loud non-speech sound at unit-ish RMS: a steady tone, a noise burst or a chirp."""
    t = np.arange(samples) / SAMPLE_RATE
    if kind == "tone":
        wave = np.sin(2 * np.pi * rng.uniform(150.0, 3000.0) * t + rng.uniform(0, 6.3))
    elif kind == "noise":
        wave = rng.standard_normal(samples)
        if rng.random() < 0.5:
            wave = np.convolve(wave, np.ones(4) / 4.0, mode="same")
    else:
        f_start, f_stop = rng.uniform(200.0, 3000.0, 2)
        freq = np.linspace(f_start, f_stop, samples)
        wave = np.sin(2 * np.pi * np.cumsum(freq) / SAMPLE_RATE)
    scaled: Wave = wave / max(float(wave.std()), 1e-9)
    return scaled


def loud_run(kind: str, rng: np.random.Generator, samples: int) -> Wave:
    """One loud run at a random level (RMS 800-16000, clipped at full scale later) with 10 ms fades
    at both ends."""
    wave = speech(rng, samples) if kind == "speech" else other_loud(kind, rng, samples)
    wave = wave * float(np.exp(rng.uniform(np.log(800.0), np.log(16000.0))))
    fade = min(160, samples // 2)
    ramp = np.linspace(0.0, 1.0, fade)
    wave[:fade] *= ramp
    wave[samples - fade :] *= ramp[::-1]
    return wave


def to_int16(wave: Wave) -> npt.NDArray[np.int16]:
    return np.clip(np.round(wave), -32768, 32767).astype(np.int16)


def turn_chunks(wave: Wave) -> list[npt.NDArray[np.int16]]:
    """A session's waveform cut into int16 [3200] turn chunks."""
    pcm = to_int16(wave)
    return [pcm[i * TURN_SAMPLES : (i + 1) * TURN_SAMPLES].copy() for i in range(len(pcm) // TURN_SAMPLES)]


class VideoScene:
    """A camera view for one session: a tinted background with a drifting square, or a colour that
    changes every frame under a moving gradient; plus pixel noise."""

    def __init__(self, rng: np.random.Generator, size: int) -> None:
        self.size = size
        self.rng = rng
        self.gradient = bool(rng.random() < 0.4)
        self.background = rng.integers(0, 256, 3)
        self.colour = rng.integers(0, 256, 3)
        self.side = int(rng.integers(size // 8, size // 2))
        self.pos = rng.uniform(0, size - self.side, 2)
        self.vel = rng.uniform(-3.0, 3.0, 2)
        self.index = 0

    def frame(self) -> npt.NDArray[np.uint8]:
        size, side = self.size, self.side
        img = np.empty((size, size, 3), dtype=np.int16)
        self.index += 1
        if self.gradient:
            img[:] = (self.background + 37 * self.index) % 256
            ramp = (np.arange(size) * (255 // size) + 8 * self.index) % 256
            img[:, :, 2] = ramp[None, :]
        else:
            img[:] = self.background
            self.pos = np.clip(self.pos + self.vel, 0, size - side)
            y, x = (int(v) for v in self.pos)
            img[y : y + side, x : x + side] = self.colour
        img += self.rng.integers(-12, 13, img.shape, dtype=np.int16)
        return np.clip(img, 0, 255).astype(np.uint8)
