"""Teacher-forced training forward: whole sessions at once, equivalent to `InteractionNetwork.step`.

`step` runs a session turn by turn: each turn's tokens are prefilled against the KV cache of the
turns before, the ACT token's hidden state picks the action, and the decode tokens (the chosen
action, then the emitted bytes) attend to that context and to each other, then are dropped from
the cache. Token embeddings carry no sequence position (order comes from slot and time
embeddings), so the same computation can run as one sequence per session:

    [turn 0 tokens][turn 1 tokens]...[turn K tokens] [decode tokens of every answering turn]

with an attention mask that gives every context token the causal prefix, and every decode token
of turn k the context up to turn k's ACT token plus the earlier decode tokens of turn k only. This
is the cache-free path of `InteractionNetwork.recompute`, batched over sessions, and it uses the
network's own modules and weights (nothing in `inference.network` changes). Its outputs equal the
streaming path up to float rounding while the session fits the cache window (sinks + window
tokens: no eviction yet); `tests/inference/training` checks that.

Sessions in a batch are padded to the longest; every reduction is per session, so padding never
mixes into real tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from inference.network.config import EOS, TURN_SAMPLES
from inference.network.network import InteractionNetwork
from inference.network.transformer import Block, Decoder, RMSNorm
from inference.network.turns import Action, TurnInput
from inference.training.data import AUX_FEATURES, LabeledTurn, Session, audio_history


@dataclass
class Batch:
    """Index tensors describing a batch of sessions as token sequences (built once, on the CPU)."""

    levels: Tensor
    """long [A, frames, n_mels]: dMel levels of every audio turn in the batch."""
    frames: Tensor
    """uint8 [V, S, S, 3]: every video frame in the batch."""
    source: Tensor
    """long [T]: row of the content table of every token (see `token_embeddings`)."""
    slot: Tensor
    """long [T]: slot embedding row of every token."""
    time: Tensor
    """long [T]: row of `turns` (the turn's time vector) of every token."""
    turns: Tensor
    """long [U]: turn index of every distinct (session, turn) in the batch."""
    act_of_turn: Tensor
    """long [U]: token index of each turn's ACT token."""
    input_turn: Tensor
    """long [I]: for every non-ACT context token (listed in `input_tokens`), its row of `turns`."""
    input_tokens: Tensor
    """long [I]: token index of every non-ACT context token."""
    layout: Tensor
    """long [B, N]: token index at each (session, position), -1 for padding."""
    mask: Tensor
    """bool [B, N, N]: which keys each query may attend to."""
    action_labels: Tensor
    """long [U]: target action of every turn."""
    aux_targets: Tensor
    """float [U, AUX_FEATURES]: the audio history of every turn (`data.audio_history`)."""
    decode_tokens: Tensor
    """long [D]: token index of every decode token that predicts a byte."""
    decode_targets: Tensor
    """long [D]: the byte (or EOS) each of those predicts."""
    decode_delegate: Tensor
    """bool [D]: predicted by the delegate head (else the text head)."""
    speech_tokens: Tensor
    """long [S]: token index of the action token of every SPEAK/BACKCHANNEL turn (flow condition)."""
    speech_actions: Tensor
    """long [S]: the action of each of those turns."""


class _Builder:
    """Accumulates the token lists of `build_batch`, one turn at a time."""

    def __init__(self, net: InteractionNetwork, audio_turns: int, video_turns: int) -> None:
        self.cfg, self.emb = net.config, net.embedder
        # rows of the content table: [audio tokens][video tokens][256 bytes][act query][actions]
        self.off_video = audio_turns * self.cfg.audio_tokens
        self.off_bytes = self.off_video + video_turns * self.cfg.video_tokens
        self.off_act = self.off_bytes + 256
        self.off_actions = self.off_act + 1
        self.audio_seen = self.video_seen = 0
        names = (
            "source",
            "slot",
            "time",
            "turns",
            "act_of_turn",
            "input_turn",
            "input_tokens",
            "labels",
            "dec_tokens",
            "dec_targets",
            "speech_tokens",
            "speech_actions",
        )
        self.lists: dict[str, list[int]] = {name: [] for name in names}
        self.dec_delegate: list[bool] = []
        self.aux: list[list[float]] = []

    def token(self, source: int, slot: int, row: int) -> int:
        lists = self.lists
        lists["source"].append(source)
        lists["slot"].append(slot)
        lists["time"].append(row)
        return len(lists["source"]) - 1

    def inputs(self, item: TurnInput, row: int) -> list[int]:
        """The turn's input tokens, in `TurnEmbedder.turn_tokens` order (ACT not included)."""
        cfg, emb, out = self.cfg, self.emb, []
        if item.audio is not None:
            base = self.audio_seen * cfg.audio_tokens
            out += [self.token(base + j, emb._audio + j, row) for j in range(cfg.audio_tokens)]
            self.audio_seen += 1
        if item.video is not None:
            base = self.off_video + self.video_seen * cfg.video_tokens
            out += [self.token(base + j, emb._video + j, row) for j in range(cfg.video_tokens)]
            self.video_seen += 1
        for data, cap, start in (
            (item.text, cfg.max_text_bytes, emb._text),
            (item.background, cfg.max_background_bytes, emb._background),
        ):
            out += [self.token(self.off_bytes + value, start + j, row) for j, value in enumerate(data[:cap])]
        self.lists["input_tokens"] += out
        self.lists["input_turn"] += [row] * len(out)
        return out

    def decode(self, labeled: LabeledTurn, row: int) -> list[int]:
        """The teacher-forced decode tokens of a non-LISTEN turn: the action, then every emitted
        byte that `Responder.decode` feeds back; each predicts the next byte or EOS."""
        cfg, emb, lists = self.cfg, self.emb, self.lists
        delegate = labeled.action is Action.DELEGATE
        cap = cfg.max_delegate_out if delegate else cfg.max_text_out
        target = labeled.target[:cap]
        chain = [self.token(self.off_actions + int(labeled.action), emb._out, row)]
        chain += [
            self.token(self.off_bytes + target[p - 1], emb._out + p, row)
            for p in range(1, min(len(target), cap - 1) + 1)
        ]
        wanted = list(target) + ([EOS] if len(target) < cap else [])
        lists["dec_tokens"] += chain
        lists["dec_targets"] += wanted[: len(chain)]
        self.dec_delegate += [delegate] * len(chain)
        if labeled.action in (Action.SPEAK, Action.BACKCHANNEL):
            lists["speech_tokens"].append(chain[0])
            lists["speech_actions"].append(int(labeled.action))
        return chain

    def session(self, session: Session) -> _Sequence:
        """One session's token sequence (context tokens, then decode tokens)."""
        lists = self.lists
        self.aux += audio_history([t.loud for t in session.turns])
        seq = _Sequence([], [], [], [], [])
        for k, labeled in enumerate(session.turns):
            row = len(lists["turns"])
            lists["turns"].append(labeled.input.turn)
            turn = self.inputs(labeled.input, row)
            turn.append(self.token(self.off_act, self.emb._act, row))
            seq.ctx += turn
            seq.ctx_end += [len(seq.ctx)] * len(turn)
            lists["act_of_turn"].append(turn[-1])
            lists["labels"].append(int(labeled.action))
            if labeled.action is not Action.LISTEN:
                chain = self.decode(labeled, row)
                seq.decode += chain
                seq.seen += [len(seq.ctx)] * len(chain)  # the context up to and including this ACT token
                seq.group += [k] * len(chain)
        return seq


@dataclass
class _Sequence:
    ctx: list[int]
    """Context tokens (every turn's inputs and ACT), in stream order."""
    ctx_end: list[int]
    """Per context token: the stream length at the end of its turn."""
    decode: list[int]
    """Decode tokens of every answering turn."""
    seen: list[int]
    """Per decode token: the stream length at the end of its turn (what it may attend to)."""
    group: list[int]
    """Per decode token: its turn."""


def _retained(query_end: Tensor, n_ctx: int, sink: int, window: int) -> Tensor:
    """bool [queries, n_ctx]: context tokens held in the KV cache while a turn ending at stream
    length `query_end` runs: the first `sink` tokens and the last `window` up to that turn's end
    (`KVCache.reserve` evicts the rest), and nothing after the turn."""
    keys = torch.arange(n_ctx).unsqueeze(0)
    end = query_end.unsqueeze(1)
    return (keys < end) & ((keys < sink) | (keys >= end - window))


def _layout_and_mask(sequences: list[_Sequence], sink: int, window: int) -> tuple[Tensor, Tensor]:
    longest = max(len(seq.ctx) + len(seq.decode) for seq in sequences)
    layout = torch.full((len(sequences), longest), -1, dtype=torch.long)
    mask = torch.zeros(len(sequences), longest, longest, dtype=torch.bool)
    for b, seq in enumerate(sequences):
        n_ctx, n_dec = len(seq.ctx), len(seq.decode)
        layout[b, : n_ctx + n_dec] = torch.tensor(seq.ctx + seq.decode, dtype=torch.long)
        causal = torch.ones(n_ctx, n_ctx, dtype=torch.bool).tril()
        mask[b, :n_ctx, :n_ctx] = causal & _retained(torch.tensor(seq.ctx_end), n_ctx, sink, window)
        if n_dec:
            mask[b, n_ctx : n_ctx + n_dec, :n_ctx] = _retained(torch.tensor(seq.seen), n_ctx, sink, window)
            group = torch.tensor(seq.group)
            same = group.unsqueeze(0) == group.unsqueeze(1)
            mask[b, n_ctx : n_ctx + n_dec, n_ctx : n_ctx + n_dec] = same & torch.ones(n_dec, n_dec).bool().tril()
        pad = torch.arange(n_ctx + n_dec, longest)
        mask[b, pad, pad] = True  # padding attends to itself only (no NaN rows)
    return layout, mask


def build_batch(net: InteractionNetwork, sessions: Sequence[Session]) -> Batch:
    """Lay out `sessions` (each one session's turns, in order) as a `Batch`."""
    cfg = net.config
    audio = [t.input.audio for s in sessions for t in s.turns if t.input.audio is not None]
    video = [t.input.video for s in sessions for t in s.turns if t.input.video is not None]
    builder = _Builder(net, len(audio), len(video))
    layout, mask = _layout_and_mask(
        [builder.session(session) for session in sessions], cfg.sink_tokens, cfg.window_tokens
    )
    with torch.no_grad():
        levels = (
            net.embedder.dmel.levels(torch.from_numpy(np.stack(audio)))
            if audio
            else torch.zeros(0, TURN_SAMPLES // cfg.audio_hop, cfg.n_mels, dtype=torch.long)
        )
    frames = (
        torch.from_numpy(np.stack(video))
        if video
        else torch.zeros(0, cfg.video_size, cfg.video_size, 3, dtype=torch.uint8)
    )
    lists = {name: torch.tensor(values, dtype=torch.long) for name, values in builder.lists.items()}
    return Batch(
        levels=levels,
        frames=frames,
        source=lists["source"],
        slot=lists["slot"],
        time=lists["time"],
        turns=lists["turns"],
        act_of_turn=lists["act_of_turn"],
        input_turn=lists["input_turn"],
        input_tokens=lists["input_tokens"],
        layout=layout,
        mask=mask,
        action_labels=lists["labels"],
        aux_targets=torch.tensor(builder.aux, dtype=torch.float32).view(-1, AUX_FEATURES),
        decode_tokens=lists["dec_tokens"],
        decode_targets=lists["dec_targets"],
        decode_delegate=torch.tensor(builder.dec_delegate, dtype=torch.bool),
        speech_tokens=lists["speech_tokens"],
        speech_actions=lists["speech_actions"],
    )


def audio_tokens(net: InteractionNetwork, levels: Tensor) -> Tensor:
    """dMel tokens [A * audio_tokens, d_model] from precomputed levels (`DMelEncoder.forward` after
    its fixed, non-learned `levels` step)."""
    cfg, dmel = net.config, net.embedder.dmel
    count, frames, _ = levels.shape
    summed = F.embedding_bag((levels + dmel.offsets).view(count * frames, cfg.n_mels), dmel.table, mode="sum")
    return F.linear(summed.view(count, cfg.audio_tokens, -1), dmel.group.weight).reshape(-1, cfg.d_model)


def token_embeddings(net: InteractionNetwork, batch: Batch) -> Tensor:
    """[T, d_model] embedding of every token of the batch, as `TurnEmbedder` builds them."""
    emb, d = net.embedder, net.config.d_model
    parts = [audio_tokens(net, batch.levels) if batch.levels.shape[0] else torch.zeros(0, d)]
    if batch.frames.shape[0]:
        parts.append(emb.vision.forward(batch.frames).reshape(-1, d))
    table = torch.cat([*parts, emb.bytes.weight, emb.act_query, emb.actions.weight])
    x = table[batch.source] + emb.slots.weight[batch.slot]
    # ACT content is the learned query plus the mean of the turn's input tokens (content + slot)
    n_turns = batch.turns.shape[0]
    sums = torch.zeros(n_turns, d).index_add(0, batch.input_turn, x[batch.input_tokens])
    counts = torch.bincount(batch.input_turn, minlength=n_turns)
    has_inputs = counts > 0
    means = sums[has_inputs] / counts[has_inputs].unsqueeze(1).to(sums.dtype)
    x = x.index_add(0, batch.act_of_turn[has_inputs], means)
    features = torch.tensor([emb.clock.features(int(turn)) for turn in batch.turns], dtype=x.dtype)
    times = F.linear(features, emb.clock.proj.weight)
    return x + times[batch.time]


def rms_norm(norm: RMSNorm, x: Tensor) -> Tensor:
    """`RMSNorm.forward` without its in-place ops (autograd needs the intermediate values)."""
    scale = torch.rsqrt(x.square().sum(-1, keepdim=True) + norm._eps_sum) * norm._sqrt_dim
    out: Tensor = x * scale * norm.weight
    return out


def run_decoder(decoder: Decoder, x: Tensor, mask: Tensor) -> Tensor:
    """The shared transformer over [B, N, d_model] with a boolean [B, N, N] mask, batched: the same
    blocks and weights as `Decoder.forward`, written for a batch of sequences."""
    additive = torch.zeros(mask.shape, dtype=x.dtype).masked_fill(~mask, float("-inf")).unsqueeze(1)
    batch, n, _ = x.shape
    for module in decoder.blocks:
        block = cast(Block, module)
        attn = block.attn
        heads, kv_heads, head_dim = attn.heads, attn.kv_heads, attn.head_dim
        qkv = F.linear(rms_norm(block.attn_norm, x), attn.qkv.weight)
        q, k, v = torch.split(qkv, attn.sizes, dim=-1)
        q = q.view(batch, n, heads, head_dim).transpose(1, 2)
        k = k.view(batch, n, kv_heads, head_dim).transpose(1, 2).repeat_interleave(heads // kv_heads, dim=1)
        v = v.view(batch, n, kv_heads, head_dim).transpose(1, 2).repeat_interleave(heads // kv_heads, dim=1)
        # same as softmax(q k^T / sqrt(head_dim) + mask) v (`Attention.attend`), fused: several times
        # faster on the CPU for training, where the streaming path's bitwise rules do not apply
        o = F.scaled_dot_product_attention(q, k, v, attn_mask=additive)
        o = o.transpose(1, 2).reshape(batch, n, heads * head_dim)
        x = x + F.linear(o, attn.out.weight)
        x = x + block.ffn.forward(rms_norm(block.ffn_norm, x))
    return rms_norm(decoder.norm, x)


def hidden_states(net: InteractionNetwork, batch: Batch) -> Tensor:
    """[T, d_model] final hidden state of every token of the batch (teacher forcing)."""
    tokens = token_embeddings(net, batch)
    valid = batch.layout >= 0
    x = torch.zeros(*batch.layout.shape, tokens.shape[1])
    x[valid] = tokens[batch.layout[valid]]
    hidden = run_decoder(net.decoder, x, batch.mask)
    return torch.zeros_like(tokens).index_copy(0, batch.layout[valid], hidden[valid])
