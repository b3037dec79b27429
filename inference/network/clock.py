"""Elapsed session time as an embedding, so the model knows how long things took.

Turn k starts at k * 200 ms on the session clock (the media timeline, never the wall clock). The
embedding is sine/cosine features of that time at `time_features` geometrically spaced periods
(from `time_min_period_s` up to hours), projected to `d_model` and added to every token of the turn.
The features are computed in float64 with the C library's sin/cos, so they are exact functions of
the turn index and identical across processes; only then are they rounded to float32.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from inference.network.config import TURN_MS, ModelConfig


class ElapsedTimeEmbedding(nn.Module):
    """turn index -> [1, d_model] time vector."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.proj = nn.Linear(2 * config.time_features, config.d_model, bias=False)
        ratio = config.time_max_period_s / config.time_min_period_s
        steps = max(1, config.time_features - 1)
        periods = [config.time_min_period_s * ratio ** (i / steps) for i in range(config.time_features)]
        self._omegas = [2.0 * math.pi / period for period in periods]

    def features(self, turn: int) -> list[float]:
        """The float64 sine/cosine features of turn `turn`'s start time."""
        seconds = turn * TURN_MS / 1000.0
        angles = [math.fmod(seconds * omega, 2.0 * math.pi) for omega in self._omegas]
        return [math.sin(a) for a in angles] + [math.cos(a) for a in angles]

    def forward(self, turn: int) -> Tensor:
        weight = self.proj.weight
        feats = torch.tensor([self.features(turn)], dtype=weight.dtype, device=weight.device)
        return F.linear(feats, weight)
