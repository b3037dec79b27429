"""Flow-matching audio head: from seeded noise to the turn's mel frames in a few Euler steps.

A velocity network v(x, t | c) moves noise x0 ~ N(0, I) along a straight-path flow to mel frames
x1 [out_frames, out_bands], conditioned on c, the hidden state of the turn's first decode token
(the chosen action, after attending to the whole context). Sampling integrates dx/dt = v with
`flow_steps` Euler steps at t = 0, 1/K, ..., (K-1)/K. The noise comes from the (session, turn)
generator, so the frames are a pure function of the context and the seed.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from inference.network.config import ModelConfig

_TIME_FEATURES = 8


class FlowHead(nn.Module):
    """cond [B, d_model], noise [B, out_frames, out_bands] -> mel frames [B, out_frames, out_bands]."""

    step_times: Tensor

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.steps = config.flow_steps
        self.cond = nn.Linear(config.d_model, config.flow_dim)
        self.frame = nn.Parameter(torch.empty(config.out_frames, config.flow_dim))
        self.time = nn.Linear(2 * _TIME_FEATURES, config.flow_dim, bias=False)
        self.inp = nn.Linear(config.out_bands, config.flow_dim, bias=False)
        self.hidden = nn.Linear(config.flow_dim, config.flow_dim)
        self.out = nn.Linear(config.flow_dim, config.out_bands)
        self.register_buffer("step_times", torch.empty(config.flow_steps, 2 * _TIME_FEATURES), persistent=False)

    def fill_constants(self) -> None:
        """Sine/cosine features of the Euler step times; called once after allocation."""
        rows = []
        for step in range(self.steps):
            t = step / self.steps
            angles = [t * math.pi * 2.0**i for i in range(_TIME_FEATURES)]
            rows.append([math.sin(a) for a in angles] + [math.cos(a) for a in angles])
        self.step_times.copy_(torch.tensor(rows, dtype=torch.float64))

    def forward(self, cond: Tensor, noise: Tensor) -> Tensor:
        # [B, steps, frames, flow_dim]: everything but x that enters the first layer, per step
        cond_part = F.linear(cond, self.cond.weight, self.cond.bias).unsqueeze(-2) + self.frame
        context = cond_part.unsqueeze(1) + F.linear(self.step_times, self.time.weight).unsqueeze(1)
        x = noise
        for step in range(self.steps):
            h = F.silu(F.linear(x, self.inp.weight) + context[:, step])
            h = F.silu(F.linear(h, self.hidden.weight, self.hidden.bias))
            x = torch.add(x, F.linear(h, self.out.weight, self.out.bias), alpha=1.0 / self.steps)
        return x
