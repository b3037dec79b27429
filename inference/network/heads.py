"""Output heads: the action of the turn and the byte heads (spoken text, delegation text).

The action is the argmax of the action head on the turn's ACT token: turn-taking is never random.
Bytes are picked with the Gumbel-max trick from a generator seeded by (session, turn) (`seeding.py`):
`argmax(logits / temperature + Gumbel noise)` is a sample from softmax(logits / temperature), and
with temperature 0 it is plain greedy decoding. The noise is drawn on the CPU, so the same session
and turn pick the same bytes on any device and in any batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from inference.network.config import BYTE_VOCAB, ModelConfig
from inference.network.turns import Action


class ActionHead(nn.Module):
    """[..., d_model] hidden -> [..., 4] action logits (LISTEN, SPEAK, BACKCHANNEL, DELEGATE)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.proj = nn.Linear(config.d_model, len(Action))

    def forward(self, hidden: Tensor) -> Tensor:
        return F.linear(hidden, self.proj.weight, self.proj.bias)

    def choose(self, hidden: Tensor) -> Action:
        """The action for one [d_model] hidden state."""
        return Action(int(torch.argmax(self.forward(hidden))))


class ByteHead(nn.Module):
    """[..., d_model] hidden -> [..., 257] logits over bytes and EOS."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.proj = nn.Linear(config.d_model, BYTE_VOCAB)

    def forward(self, hidden: Tensor) -> Tensor:
        return F.linear(hidden, self.proj.weight, self.proj.bias)


def sampling_noise(picks: int, temperature: float, generator: torch.Generator) -> Tensor | None:
    """temperature * Gumbel noise [picks, 257] for up to `picks` picks (CPU), or None when greedy.

    argmax(logits + temperature * g) = argmax(logits / temperature + g): a sample at `temperature`.
    Drawn all at once, so a decode that stops early still consumed the same draws.
    """
    if temperature == 0.0:
        return None
    uniform = torch.rand(picks, BYTE_VOCAB, generator=generator).clamp_(min=torch.finfo(torch.float32).tiny)
    return torch.log(uniform).neg_().log_().mul_(-temperature)


def pick(logits: Tensor, noise: Tensor | None) -> int:
    """Index picked from one row of logits [257] with one row of `sampling_noise` (or greedily)."""
    return int(torch.argmax(logits if noise is None else logits + noise))
