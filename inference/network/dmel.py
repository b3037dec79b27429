"""dMel: audio as discretized log-mel bins, with no learned audio encoder.

Each 200 ms chunk is cut into `TURN_SAMPLES // audio_hop` frames; every frame's log-mel bins are
quantized to `dmel_levels` levels over a fixed range; each (bin, level) pair has one light
embedding and a frame is the sum of its bins' embeddings. Consecutive frames are then grouped into
`audio_tokens` tokens by one linear layer. Each turn is encoded on its own (no state crosses
turns), so a turn's audio tokens depend on its 3200 samples only.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from inference.network.config import SAMPLE_RATE, TURN_SAMPLES, ModelConfig


def slaney_mel(freq_hz: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Slaney mel scale: linear below 1 kHz, logarithmic above."""
    log_step = math.log(6.4) / 27.0
    linear = freq_hz * 3.0 / 200.0
    return np.where(freq_hz < 1000.0, linear, 15.0 + np.log(np.maximum(freq_hz, 1e-9) / 1000.0) / log_step)


def slaney_hz(mel: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Inverse of `slaney_mel`."""
    log_step = math.log(6.4) / 27.0
    return np.where(mel < 15.0, mel * 200.0 / 3.0, 1000.0 * np.exp(log_step * (mel - 15.0)))


def mel_filterbank(
    n_fft: int, n_mels: int, f_min: float = 0.0, f_max: float = SAMPLE_RATE / 2
) -> npt.NDArray[np.float64]:
    """Triangular filters on the Slaney mel scale, float64 [n_fft // 2 + 1, n_mels]."""
    bin_hz = np.arange(n_fft // 2 + 1) * SAMPLE_RATE / n_fft
    edges = slaney_hz(np.linspace(slaney_mel(np.array(f_min)), slaney_mel(np.array(f_max)), n_mels + 2))
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bin_hz[:, None] - lower) / (centre - lower)
    falling = (upper - bin_hz[:, None]) / (upper - centre)
    weights: npt.NDArray[np.float64] = np.maximum(0.0, np.minimum(rising, falling))
    return weights


class DMelEncoder(nn.Module):
    """int16 audio [B, 3200] -> audio tokens [B, audio_tokens, d_model]."""

    window: Tensor
    melfb: Tensor
    offsets: Tensor
    thresholds: Tensor

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        frames = TURN_SAMPLES // config.audio_hop
        self.table = nn.Parameter(torch.empty(config.n_mels * config.dmel_levels, config.dmel_dim))
        """One embedding per (mel bin, level); row `bin * dmel_levels + level`."""
        self.group = nn.Linear(frames // config.audio_tokens * config.dmel_dim, config.d_model, bias=False)
        self.register_buffer("window", torch.empty(config.audio_window), persistent=False)
        self.register_buffer("melfb", torch.empty(config.audio_window // 2 + 1, config.n_mels), persistent=False)
        self.register_buffer("offsets", torch.empty(config.n_mels, dtype=torch.long), persistent=False)
        self.register_buffer("thresholds", torch.empty(config.dmel_levels - 1), persistent=False)

    def fill_constants(self) -> None:
        """Compute the fixed (non-learned) tensors; called once after the weights are allocated."""
        cfg = self.config
        n = np.arange(cfg.audio_window)
        hann = 0.5 - 0.5 * np.cos(2.0 * np.pi * n / cfg.audio_window)
        self.window.copy_(torch.from_numpy(hann / 32768.0))  # int16 full scale -> [-1, 1) folded in
        self.melfb.copy_(torch.from_numpy(mel_filterbank(cfg.audio_window, cfg.n_mels)))
        self.offsets.copy_(torch.arange(cfg.n_mels) * cfg.dmel_levels)
        steps = np.arange(1, cfg.dmel_levels) / cfg.dmel_levels
        bounds = cfg.dmel_log_min + steps * (cfg.dmel_log_max - cfg.dmel_log_min)
        self.thresholds.copy_(torch.from_numpy(np.exp(bounds)))

    def levels(self, audio: Tensor) -> Tensor:
        """int16 [B, 3200] -> long [B, frames, n_mels]: the dMel level of every bin of every frame.

        Level i covers log-mel power in [min + i * step, min + (i + 1) * step) of the configured
        range (first and last level open-ended); comparing the power with exp() of those bounds
        gives the same levels without taking a logarithm.
        """
        cfg = self.config
        wave = F.pad(audio.to(torch.float32), (0, cfg.audio_window - cfg.audio_hop))
        frames = wave.unfold(-1, cfg.audio_window, cfg.audio_hop) * self.window
        power = torch.fft.rfft(frames, dim=-1).abs().square()
        return torch.bucketize(power @ self.melfb, self.thresholds, right=True)

    def forward(self, audio: Tensor) -> Tensor:
        cfg = self.config
        levels = self.levels(audio)
        batch, frames, _ = levels.shape
        summed = F.embedding_bag((levels + self.offsets).view(batch * frames, cfg.n_mels), self.table, mode="sum")
        return F.linear(summed.view(batch, cfg.audio_tokens, -1), self.group.weight)
