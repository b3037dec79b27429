"""A structured start for training: layer-0 attention heads that look a fixed number of turns back.

Turn-taking depends on the last few turns (was the caller loud one, two, three turns ago?). The
network has no positional encoding: token order is carried by the additive elapsed-time embedding
(`clock.py`, sine/cosine features of the turn's start time). Attention can read relative time off
those features, since q.k of two rotated sine/cosine pairs is cos(omega * (t_q - t_k) - phase),
but learning that from a random start takes most of a short CPU training budget. So before
training, on top of the seeded init:

- the time embedding gets its own `2 * time_features` dimensions of the model width (the last
  ones): the projection writes each feature there, scaled by `TIME_SCALE`, and every content
  embedding (bytes, slots, actions, the ACT query, the audio and video stems) is zeroed there;
- head h of layer l gets query/key weights on those dimensions only, rotated per frequency so
  that its score peaks at keys exactly `LOOKBACK[l][h]` turns before the query: the head reads
  "what happened d turns ago". The five fastest periods are combined with `FREQUENCY_WEIGHTS` so
  the peak stands out from every other turn in the window.

Everything else (values, outputs, feed-forward layers, the heads) stays as seeded; training
adjusts all of it.
This is an initialization only: the trained checkpoint is an ordinary set of weights.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from inference.network.config import TURN_MS
from inference.network.network import InteractionNetwork
from inference.network.transformer import Attention

LOOKBACK = ((1, 2, 3, 4), (0, 0, 1, 2))
"""Per layer, the turns back that heads 0, 1, 2, 3 attend to: layer 0 reads the last four turns,
layer 1 the current turn (twice: one for the text, one for the rest) and the last two (whose own
layer-0 states already summarize the turns before them)."""
FREQUENCY_WEIGHTS = (2.41, 7.34, 5.24, 6.81, 4.35, 7.79, 3.73, 2.32)
"""Score amplitude of the 8 time features (periods 0.4 s to 4 h in `tiny`), fitted numerically so
that the score peaks at the target turn with a margin of about 5.5 logits over every other turn
the KV window can hold (about 170 back) and of 4.7 over the attention sinks of sessions up to 4
hours long (before the RMS scaling, which adds about a third): the heads stay sharp in long
sessions instead of leaking attention to turns where the faster periods realign."""
TIME_SCALE = 5.0
"""Scale of each time feature in its dimension (content embeddings have unit-scale entries). Large
enough that time dominates every token's norm a little: the RMSNorm in front of the attention
divides each key by its token's norm, and keys of very different norms would blur the peak."""
TYPICAL_RMS = 2.3
"""Typical RMS of a token embedding after the warm start (content plus time), used to set the
score amplitude through the RMSNorm in front of the attention."""


@torch.no_grad()
def relative_time_start(net: InteractionNetwork) -> None:
    """Apply the structured start described in the module docstring, in place."""
    cfg, emb = net.config, net.embedder
    n_time = 2 * cfg.time_features
    first = cfg.d_model - n_time
    for weight in (emb.bytes.weight, emb.actions.weight, emb.act_query, emb.slots.weight):
        weight[:, first:] = 0.0
    emb.dmel.group.weight[first:, :] = 0.0
    last = emb.vision.merges[-1]
    assert isinstance(last, nn.Linear)
    last.weight[first:, :] = 0.0
    last.bias[first:] = 0.0
    emb.clock.proj.weight.zero_()
    emb.clock.proj.weight[first:, :] = TIME_SCALE * torch.eye(n_time)

    for layer, lookback in enumerate(LOOKBACK[: cfg.n_layers]):
        attn = net.decoder.blocks[layer].attn
        assert isinstance(attn, Attention)
        _position_heads(attn, lookback, first, cfg.time_features, emb.clock._omegas)


def _position_heads(
    attn: Attention, lookback: tuple[int, ...], first: int, n_features: int, omegas: list[float]
) -> None:
    """Query/key weights of heads 0.. so that head h's score peaks `lookback[h]` turns back."""
    head_dim, group = attn.head_dim, attn.heads // attn.kv_heads
    if len(FREQUENCY_WEIGHTS) * 2 > head_dim or len(FREQUENCY_WEIGHTS) > n_features:
        raise ValueError("relative_time_start: the head or the time features are too small")
    weight = attn.qkv.weight
    # logit = q.k / sqrt(head_dim); q and k each see TIME_SCALE / rms per feature
    gain = math.sqrt(head_dim) * TYPICAL_RMS**2 / TIME_SCALE**2
    for head, back in enumerate(lookback[: attn.heads]):
        q_rows = head * head_dim
        k_rows = attn.heads * head_dim + (head // group) * head_dim
        weight[q_rows : q_rows + head_dim] = 0.0
        weight[k_rows : k_rows + head_dim] = 0.0
        for i, amplitude in enumerate(FREQUENCY_WEIGHTS):
            phase = omegas[i] * back * TURN_MS / 1000.0
            sin_dim, cos_dim = first + i, first + n_features + i
            root = math.sqrt(amplitude)
            # q = rotation of (sin, cos)(omega t_q) by -phase: q.k = cos(omega (t_q - t_k) - phase)
            weight[q_rows + 2 * i, sin_dim] = gain * root * math.cos(phase)
            weight[q_rows + 2 * i, cos_dim] = -gain * root * math.sin(phase)
            weight[q_rows + 2 * i + 1, sin_dim] = gain * root * math.sin(phase)
            weight[q_rows + 2 * i + 1, cos_dim] = gain * root * math.cos(phase)
            weight[k_rows + 2 * i, sin_dim] = root
            weight[k_rows + 2 * i + 1, cos_dim] = root
