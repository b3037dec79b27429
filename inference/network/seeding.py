"""Seeds: the per-(session, turn) sampling generators, and seeded weights for tests and demos.

`session_generator` is the only source of randomness at inference time: a CPU `torch.Generator`
seeded with blake2b(session_key, turn, purpose). It never touches the global RNG, does not depend
on which other sessions share a batch, and is identical across processes and machines.

`init_weights` fills a network with seeded random weights. It exists for tests and demos only:
such a model has never been trained and its outputs mean nothing. Production weights come from a
checkpoint (`checkpoint.py`).
"""

from __future__ import annotations

import hashlib
import math

import torch
from torch import Tensor, nn

from inference.network.config import ModelConfig

ACTION_BIAS = (0.0, 0.0, -1.5, -2.5)
"""Seeded init only: action logits (LISTEN, SPEAK, BACKCHANNEL, DELEGATE) at the calibration
midpoint (see `calibrate_action_head`); BACKCHANNEL and DELEGATE start lower so they are rarer."""
ACTION_GAIN = 4.0
"""Seeded init only: LISTEN minus SPEAK logit is +ACTION_GAIN for the loud calibration turn and
-ACTION_GAIN for the silent one; also the scale of the other two rows' random weights."""

_EMBEDDING_STD = {
    "embedder.bytes.weight": 1.0,
    "embedder.actions.weight": 1.0,
    "embedder.act_query": 1.0,
    "embedder.slots.weight": 0.5,
    "responder.flow.frame": 0.5,
}


def session_generator(session_key: str, turn: int, purpose: str) -> torch.Generator:
    """CPU generator for one (session, turn, purpose); purposes keep draws independent of each other."""
    message = f"{session_key}\x00{turn}\x00{purpose}".encode()
    seed = int.from_bytes(hashlib.blake2b(message, digest_size=8).digest(), "little") & (2**63 - 1)
    generator = torch.Generator(device="cpu")
    generator.manual_seed(seed)
    return generator


@torch.no_grad()
def init_weights(network: nn.Module, config: ModelConfig, seed: int) -> None:
    """Seeded random init of every parameter, in sorted name order (tests and demos only)."""
    generator = torch.Generator(device="cpu")
    generator.manual_seed(seed)
    residual = 1.0 / math.sqrt(2 * config.n_layers)
    for name, param in sorted(network.named_parameters()):
        if param.dim() == 1:
            value = torch.zeros(param.shape) if name.endswith("bias") else torch.ones(param.shape)
        elif name.endswith("dmel.table"):
            value = _ordinal_levels(config, generator)
        elif name in _EMBEDDING_STD:
            value = torch.randn(param.shape, generator=generator) * _EMBEDDING_STD[name]
        else:
            value = torch.randn(param.shape, generator=generator) / math.sqrt(param.shape[1])
            if name.endswith(("attn.out.weight", "ffn.down.weight")):
                value *= residual
            if name.endswith("action.proj.weight"):
                value *= ACTION_GAIN
        param.copy_(value)


def _ordinal_levels(config: ModelConfig, generator: torch.Generator) -> Tensor:
    """dMel table with an ordinal part: level i of every bin adds (i / (levels - 1) - 1/2) times
    one shared random direction, so louder frames move the same way in embedding space (independent
    random rows per level would make "louder" an arbitrary jump). Plus a random part per row."""
    bins, levels, dim = config.n_mels, config.dmel_levels, config.dmel_dim
    noise = torch.randn(bins, levels, dim, generator=generator) * 0.5
    loudness = torch.randn(dim, generator=generator)
    ramp = torch.linspace(-0.5, 0.5, levels).view(1, levels, 1)
    return ((noise + ramp * loudness) / math.sqrt(bins)).view(bins * levels, dim)


@torch.no_grad()
def calibrate_action_head(head: nn.Linear, silent: Tensor, loud: Tensor) -> None:
    """Seeded init only: make an untrained model's action depend on the user's loudness.

    A random action head reads mostly the constant part of the ACT hidden state and would pick the
    same action every turn. Given the ACT hidden states [n, d_model] of silent and of loud
    calibration turns, this points the LISTEN and SPEAK rows along the difference of their means:
    loud input -> LISTEN, silence -> SPEAK (the model talks in the pauses), the two tied halfway.
    BACKCHANNEL and DELEGATE keep random rows, centred there and biased down by `ACTION_BIAS`.
    """
    mean_silent, mean_loud = silent.mean(0), loud.mean(0)
    difference = mean_loud - mean_silent
    direction = difference / difference.square().sum()
    midpoint = (mean_loud + mean_silent) / 2
    head.weight[0] = ACTION_GAIN * direction
    head.weight[1] = -ACTION_GAIN * direction
    head.bias.copy_(torch.tensor(ACTION_BIAS) - head.weight @ midpoint)
