"""A cheap deterministic mel-to-waveform synthesizer (sinusoidal, overlap-add).

Each output band b is one sinusoid at the band's centre frequency f_b (Slaney mel spacing between
100 Hz and 7 kHz). Its amplitude is exp(mel) of the band, interpolated linearly between frame
centres. The phase runs on the session clock: sample n of turn k sits at time (3200 k + n) / 16000 s,
so consecutive turns join without clicks. The per-turn phase offset is reduced in float64 on the
host; the samples are clipped to [-1, 1] and rounded to int16. No learned weights.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor, nn

from inference.network.config import SAMPLE_RATE, TURN_SAMPLES, ModelConfig
from inference.network.dmel import slaney_hz, slaney_mel

_F_MIN, _F_MAX = 100.0, 7000.0
_MEL_CLAMP = (-12.0, 3.0)
_LEVEL = 0.03
"""Output gain: unit-variance log-mel frames come out around -20 dBFS, loud ones clip at full scale."""


class SineVocoder(nn.Module):
    """mel frames [B, out_frames, out_bands] + turn indices -> int16 waveform [B, 3200]."""

    interp: Tensor
    basis: Tensor

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        mels = np.linspace(slaney_mel(np.array(_F_MIN)), slaney_mel(np.array(_F_MAX)), config.out_bands)
        self._freqs = [float(f) for f in slaney_hz(mels)]
        self._scale = 32767.0 * _LEVEL / math.sqrt(config.out_bands)
        frames, bands = config.out_frames, config.out_bands
        self.register_buffer("interp", torch.empty(frames, TURN_SAMPLES), persistent=False)
        self.register_buffer("basis", torch.empty(2 * bands, TURN_SAMPLES), persistent=False)

    def fill_constants(self) -> None:
        """Interpolation weights and sinusoid bases; called once after allocation."""
        frames = self.config.out_frames
        hop = TURN_SAMPLES / frames
        centres = (np.arange(frames) + 0.5) * hop
        t = np.arange(TURN_SAMPLES) + 0.5
        weights = np.maximum(0.0, 1.0 - np.abs(t[None, :] - centres[:, None]) / hop)
        weights[0, t < centres[0]] = 1.0
        weights[-1, t > centres[-1]] = 1.0
        self.interp.copy_(torch.from_numpy(weights / weights.sum(axis=0, keepdims=True)))
        angles = 2.0 * np.pi * np.array(self._freqs)[:, None] * np.arange(TURN_SAMPLES)[None, :] / SAMPLE_RATE
        self.basis.copy_(torch.from_numpy(np.concatenate([np.sin(angles), np.cos(angles)])))

    def phase_offsets(self, turn: int) -> tuple[list[float], list[float]]:
        """cos and sin of each band's phase at the first sample of turn `turn` (float64, host)."""
        start_s = turn * TURN_SAMPLES / SAMPLE_RATE
        cycles = [math.fmod(f * start_s, 1.0) for f in self._freqs]
        return [math.cos(2 * math.pi * c) for c in cycles], [math.sin(2 * math.pi * c) for c in cycles]

    def forward(self, mel: Tensor, turns: list[int]) -> Tensor:
        # sin(offset_b + angle) = cos(offset_b) sin(angle) + sin(offset_b) cos(angle): mix the frames'
        # amplitudes into per-frame waveforms with one matmul, then cross-fade the frames.
        amp = torch.exp(mel.clamp(*_MEL_CLAMP))  # [B, frames, bands]
        offsets = [self.phase_offsets(turn) for turn in turns]
        coef = torch.tensor([c + s for c, s in offsets], dtype=mel.dtype, device=mel.device).unsqueeze(1)
        per_frame = (torch.cat([amp, amp], dim=-1) * coef) @ self.basis  # [B, frames, 3200]
        wave = (per_frame * self.interp).sum(dim=-2)
        return (wave * self._scale).clamp_(-32767.0, 32767.0).round_().to(torch.int16)
