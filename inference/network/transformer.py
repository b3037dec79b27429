"""The shared decoder-only transformer: pre-norm blocks of causal attention and SwiGLU.

RMSNorm everywhere, grouped-query attention, no biases, and no positional rotation (token order is
carried by the slot and time embeddings, see `tokens.py`). With a `KVCache` a call processes only
the new tokens against everything cached (prefill of a turn, or one decode token); without one it
runs full causal attention over the whole sequence (the `recompute` path).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from inference.network.cache import KVCache
from inference.network.config import ModelConfig


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(dim))
        self.eps = eps
        self._eps_sum, self._sqrt_dim = eps * dim, dim**0.5

    def forward(self, x: Tensor) -> Tensor:
        # x * rsqrt(mean(x^2) + eps) * w, written with sum: on CPU a small `mean` (and F.rms_norm)
        # costs several times a `sum` at these sizes, and the turn runs dozens of these.
        scale = torch.rsqrt(x.square().sum(-1, keepdim=True).add_(self._eps_sum)).mul_(self._sqrt_dim)
        return x * scale * self.weight


class Attention(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.heads, self.kv_heads = config.n_heads, config.n_kv_heads
        self.head_dim = config.d_model // config.n_heads
        self.sizes = [self.heads * self.head_dim, self.kv_heads * self.head_dim, self.kv_heads * self.head_dim]
        self.qkv = nn.Linear(config.d_model, sum(self.sizes), bias=False)
        self.out = nn.Linear(config.d_model, config.d_model, bias=False)

    def project(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """[n, d_model] -> q [heads, n, head_dim], k and v [kv_heads, n, head_dim]."""
        return self.split_heads(F.linear(x, self.qkv.weight))

    def split_heads(self, qkv: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """[n, (heads + 2 kv_heads) * head_dim] projections -> q, k, v as in `project`."""
        n = qkv.shape[0]
        q, k, v = torch.split(qkv, self.sizes, dim=-1)
        return (
            q.view(n, self.heads, self.head_dim).transpose(0, 1),
            k.view(n, self.kv_heads, self.head_dim).transpose(0, 1),
            v.view(n, self.kv_heads, self.head_dim).transpose(0, 1),
        )

    def attend(self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None) -> Tensor:
        """Attention of q [heads, n, hd] over k/v [kv_heads, L, hd] -> [n, heads * hd] (before `out`).

        `mask` is additive, [n, L] (0 or -inf), or None when every query sees every key. Written
        out with two batched matmuls: on CPU this beats the fused SDPA kernel at these sizes. The
        query heads sharing a kv head are stacked into one matmul.
        """
        n, group = q.shape[1], self.heads // self.kv_heads
        q = q.reshape(self.kv_heads, group * n, self.head_dim) * self.head_dim**-0.5
        scores = q @ k.transpose(1, 2)
        if mask is not None:
            scores = scores + (mask if group == 1 else mask.repeat(group, 1))
        o = torch.softmax(scores, dim=-1) @ v
        return o.view(self.heads, n, self.head_dim).transpose(0, 1).reshape(n, -1)

    def forward(self, x: Tensor, layer: int, cache: KVCache | None, mask: Tensor | None) -> Tensor:
        q, k, v = self.project(x)
        if cache is not None:
            k, v = cache.write(layer, k, v)
        return F.linear(self.attend(q, k, v, mask), self.out.weight)


class FeedForward(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.up = nn.Linear(config.d_model, 2 * config.ffn_dim, bias=False)
        self.down = nn.Linear(config.ffn_dim, config.d_model, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        gate, value = F.linear(x, self.up.weight).chunk(2, dim=-1)
        return F.linear(F.silu(gate) * value, self.down.weight)


class Block(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.attn_norm = RMSNorm(config.d_model, config.norm_eps)
        self.attn = Attention(config)
        self.ffn_norm = RMSNorm(config.d_model, config.norm_eps)
        self.ffn = FeedForward(config)

    def forward(self, x: Tensor, layer: int, cache: KVCache | None, mask: Tensor | None) -> Tensor:
        x = x + self.attn.forward(self.attn_norm.forward(x), layer, cache, mask)
        return x + self.ffn.forward(self.ffn_norm.forward(x))


def prefix_causal_mask(held: int, n: int, device: torch.device) -> Tensor | None:
    """Additive [n, held + n]: new token i sees every held token and new tokens 0..i. None if n == 1."""
    if n == 1:
        return None
    keys = torch.arange(held + n, device=device)
    hidden = keys.unsqueeze(0) > (held + torch.arange(n, device=device)).unsqueeze(1)
    return torch.zeros(hidden.shape, device=device).masked_fill_(hidden, float("-inf"))


class Decoder(nn.Module):
    """[n, d_model] embeddings -> [n, d_model] final-normed hidden states."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layers))
        self.norm = RMSNorm(config.d_model, config.norm_eps)

    def forward(self, x: Tensor, cache: KVCache | None = None) -> Tensor:
        """With `cache`: the caller has reserved room; the new tokens are committed on return."""
        mask = prefix_causal_mask(0 if cache is None else cache.length, x.shape[0], x.device)
        for layer, block in enumerate(self.blocks):
            x = block.forward(x, layer, cache, mask)  # direct calls: no hooks on this hot path
        if cache is not None:
            cache.advance(x.shape[0])
        return self.norm.forward(x)
