"""The batched micro-turn: every session of a batch in one forward, bitwise batch-invariant.

`InteractionNetwork.step` runs here. The encoders run once over the batch, the transformer once per
*shape group*, and the decode and speech heads once per decode step over the sessions still
decoding. What keeps a session's bits independent of its company:

- Every matrix product is a `torch.bmm` whose batch elements are single sessions (weights are
  expanded, never folded into the row dimension), so each session's product has the same shape,
  hence the same kernel and summation order, alone or among 64. A plain `F.linear` over stacked
  sessions rounds a row differently depending on how many rows are stacked (see `fast.py`).
- A session's turn tokens are padded to `padded_tokens(n)` (a function of its own count) and
  its attention runs over its own KV cache buffer at the cache's current capacity (which depends on
  the session's history only) plus the turn's own tokens, with masking. Sessions are grouped by
  (padded tokens, capacity); no shape in a group depends on who else is in the batch.
- Reductions (norms, softmax, the ACT token's mean, the vocoder's frame sum) run along a session's
  own rows, whose lengths are fixed the same way.

`tests/inference/network/test_network_batched.py` checks this bitwise against each session run
alone, over random batches, orders, histories, actions and evicted caches; the Triton tests check
it through the server. Decode tokens are scratch, as before: they live in a per-group tail buffer
and never enter the session's cache. LISTEN sessions skip the decode and the speech heads.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn.utils.rnn import pad_sequence

from inference.network.cache import SessionState
from inference.network.config import EOS
from inference.network.heads import sampling_noise
from inference.network.respond import silence, valid_utf8
from inference.network.seeding import session_generator
from inference.network.transformer import Block, RMSNorm
from inference.network.turns import Action, TurnInput, TurnOutput
from inference.network.vision import fit_frame
from inference.network.vocoder import _MEL_CLAMP

if TYPE_CHECKING:
    from inference.network.network import InteractionNetwork

_NEG_INF = float("-inf")


def padded_tokens(n: int) -> int:
    """Rows a turn of `n` tokens occupies in the batched forward: the next power of two up to 8,
    then the next multiple of 8. A function of the turn alone, never of the batch."""
    return 1 << (n - 1).bit_length() if n <= 8 else -(-n // 8) * 8


def _transposed(weight: Tensor) -> Tensor:
    """Contiguous weight.T, kept on the weight itself (GEMMs read a contiguous [k, n] operand about
    twice as fast here); rebuilt when the weight changed in place (its version counter moved)."""
    hit: tuple[int, Tensor] | None = getattr(weight, "_microturn_t", None)
    if hit is not None and hit[0] == weight._version:
        return hit[1]
    transposed = weight.detach().t().contiguous()
    weight._microturn_t = (weight._version, transposed)  # type: ignore[attr-defined]
    return transposed


def matmul(x: Tensor, rhs: Tensor) -> Tensor:
    """x [B, m, k] @ rhs [k, n], one GEMM per batch element."""
    return torch.bmm(x, rhs.expand(x.shape[0], -1, -1))


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """`F.linear` for x [B, m, k], one GEMM of shape [m, k] x [k, n] per batch element."""
    out = torch.bmm(x, _transposed(weight).expand(x.shape[0], -1, -1))
    return out if bias is None else out + bias


class _Norm(NamedTuple):
    weight: Tensor
    eps_sum: float
    sqrt_dim: float

    @staticmethod
    def of(module: RMSNorm) -> _Norm:
        return _Norm(module.weight, module._eps_sum, module._sqrt_dim)

    def __call__(self, x: Tensor) -> Tensor:
        """`RMSNorm.forward`, without the module attribute lookups."""
        return x * torch.rsqrt(x.square().sum(-1, keepdim=True).add_(self.eps_sum)).mul_(self.sqrt_dim) * self.weight


class _Layer(NamedTuple):
    """One block's weights, looked up once per step (module attribute access is slow)."""

    attn_norm: _Norm
    qkv: Tensor
    sizes: list[int]
    out: Tensor
    ffn_norm: _Norm
    up: Tensor
    down: Tensor

    @staticmethod
    def of(block: Block) -> _Layer:
        return _Layer(
            _Norm.of(block.attn_norm),
            _transposed(block.attn.qkv.weight),
            block.attn.sizes,
            _transposed(block.attn.out.weight),
            _Norm.of(block.ffn_norm),
            _transposed(block.ffn.up.weight),
            _transposed(block.ffn.down.weight),
        )


def step_batched(
    net: InteractionNetwork, inputs: Sequence[TurnInput], states: Sequence[SessionState]
) -> list[TurnOutput]:
    """One micro-turn of every session; the caller checked inputs and states."""
    if not inputs:
        return []
    emb = net.embedder
    counts = [emb.token_count(item) for item in inputs]
    for state, n in zip(states, counts, strict=True):
        state.cache.reserve(n)
    times = _times(net, inputs)  # [B, 1, d]
    audio, video = _encode(net, inputs)
    groups: dict[tuple[int, int], list[int]] = {}
    for i, (state, n) in enumerate(zip(states, counts, strict=True)):
        groups.setdefault((padded_tokens(n), state.cache.capacity), []).append(i)
    outputs: list[TurnOutput | None] = [None] * len(inputs)
    layers = [_Layer.of(block) for block in net.decoder.blocks]  # type: ignore[arg-type]
    final = _Norm.of(net.decoder.norm)
    for (rows, _), members in groups.items():
        group = _Group(net, [inputs[i] for i in members], [states[i] for i in members], counts, members, rows)
        group.layers, group.final = layers, final
        at = times.index_select(0, torch.tensor(members, device=net.device))
        for i, out in zip(members, group.run(group.tokens(audio, video, at), at), strict=True):
            outputs[i] = out
    for item, state in zip(inputs, states, strict=True):
        state.session_key, state.last_turn, state.turns_seen = item.session_key, item.turn, state.turns_seen + 1
    return [out for out in outputs if out is not None]


def _times(net: InteractionNetwork, inputs: Sequence[TurnInput]) -> Tensor:
    clock = net.embedder.clock
    weight = clock.proj.weight
    feats = torch.tensor([[clock.features(item.turn)] for item in inputs], dtype=weight.dtype, device=weight.device)
    return linear(feats, weight)


def _encode(net: InteractionNetwork, inputs: Sequence[TurnInput]) -> tuple[dict[int, Tensor], dict[int, Tensor]]:
    """Audio tokens [audio_tokens, d] and video tokens [video_tokens, d] by batch index (no slots)."""
    device = net.device
    audio_at = [i for i, item in enumerate(inputs) if item.audio is not None]
    video_at = [i for i, item in enumerate(inputs) if item.video is not None]
    audio: dict[int, Tensor] = {}
    if audio_at:
        waves = torch.from_numpy(np.stack([inputs[i].audio for i in audio_at])).to(device)  # type: ignore[misc]
        audio = dict(zip(audio_at, _dmel(net, waves), strict=True))
    video: dict[int, Tensor] = {}
    if video_at:
        size = net.config.video_size
        frames = torch.from_numpy(np.stack([fit_frame(inputs[i].video, size) for i in video_at])).to(device)  # type: ignore[arg-type]
        video = dict(zip(video_at, _hmlp(net, frames), strict=True))
    return audio, video


def _dmel(net: InteractionNetwork, audio: Tensor) -> Tensor:
    """`DMelEncoder.forward` with per-session matrix products: int16 [B, 3200] -> [B, audio_tokens, d]."""
    enc, cfg = net.embedder.dmel, net.config
    batch = audio.shape[0]
    wave = F.pad(audio.to(torch.float32), (0, cfg.audio_window - cfg.audio_hop))
    frames = wave.unfold(-1, cfg.audio_window, cfg.audio_hop) * enc.window
    power = torch.fft.rfft(frames, dim=-1).abs().square()
    levels = torch.bucketize(matmul(power, enc.melfb), enc.thresholds, right=True)
    n_frames = levels.shape[1]
    summed = F.embedding_bag((levels + enc.offsets).view(batch * n_frames, cfg.n_mels), enc.table, mode="sum")
    return linear(summed.view(batch, cfg.audio_tokens, -1), enc.group.weight)


def _hmlp(net: InteractionNetwork, frames: Tensor) -> Tensor:
    """`HMLPStem.forward` with per-session matrix products: uint8 [B, S, S, 3] -> [B, video_tokens, d]."""
    stem, cfg = net.embedder.vision, net.config
    batch, k, p = frames.shape[0], stem.merges_count, cfg.hmlp_pixels
    grid = cfg.video_size // cfg.video_patch
    x = frames.float() * (1.0 / 127.5) - 1.0
    x = x.reshape(batch, grid, *([2] * k), p, grid, *([2] * k), p, 3).permute(stem._permutation)
    x = x.reshape(batch, -1, p * p * 3)  # blocks in [gh, gw, a1, b1, .., ak, bk] order
    x = F.gelu(linear(x, stem.first.weight, stem.first.bias))
    for i, merge in enumerate(stem.merges):
        x = linear(x.reshape(batch, -1, 4 * x.shape[-1]), merge.weight, merge.bias)  # type: ignore[arg-type]
        if i + 1 < len(stem.merges):
            x = F.gelu(x)
    return x.reshape(batch, grid * grid, cfg.d_model)


class _Attention:
    """One group's attention buffers by layer: each session's cached keys/values (a copy, read
    only), then the turn's own rows, then its decode rows; plus the mask of what each cache holds."""

    def __init__(self, keys: Tensor, values: Tensor, held: Tensor) -> None:
        self.keys, self.values = keys, values
        """Values [n_layers, B, kv_heads, span, head_dim] and keys transposed, [..., head_dim, span],
        with span = capacity + rows + max_decode_tokens."""
        self.held = held
        """Additive [B, 1, 1, capacity]: 0 on the tokens each cache holds, -inf after them."""

    @property
    def capacity(self) -> int:
        return self.held.shape[-1]

    def select(self, index: Tensor) -> _Attention:
        return _Attention(
            self.keys.index_select(1, index), self.values.index_select(1, index), self.held.index_select(0, index)
        )


class _Group:
    """Sessions whose turns pad to the same row count and whose caches have the same capacity."""

    def __init__(
        self,
        net: InteractionNetwork,
        inputs: list[TurnInput],
        states: list[SessionState],
        counts: list[int],
        members: list[int],
        rows: int,
    ) -> None:
        self.net, self.cfg, self.inputs, self.members, self.rows = net, net.config, inputs, members, rows
        self.caches = [state.cache for state in states]
        self.counts = [counts[i] for i in members]
        self.device = net.device
        self.layers: list[_Layer] = []
        self.final: _Norm | None = None

    def tokens(self, audio: dict[int, Tensor], video: dict[int, Tensor], times: Tensor) -> Tensor:
        """[B, rows, d] turn tokens in layout order, ACT at row n - 1, time added to every row."""
        cfg, emb, device = self.cfg, self.net.embedder, self.device
        zero = torch.zeros(1, cfg.d_model, device=device)
        parts: list[Tensor] = []
        audio_rows: dict[int, int] = {}
        video_rows: dict[int, int] = {}
        held = 0
        for i in self.members:
            for encoded, rows in ((audio, audio_rows), (video, video_rows)):
                if i in encoded:
                    rows[i] = held
                    parts.append(encoded[i])
                    held += encoded[i].shape[0]
        byte_base = held
        table = torch.cat([*parts, emb.bytes.weight, zero])
        blank = table.shape[0] - 1
        slots = torch.cat([emb.slots.weight, zero])
        no_slot = slots.shape[0] - 1
        content: list[int] = []
        slot: list[int] = []
        for i, item in zip(self.members, self.inputs, strict=True):
            filled = len(slot)
            if i in audio_rows:
                content += range(audio_rows[i], audio_rows[i] + cfg.audio_tokens)
                slot += range(emb._audio, emb._audio + cfg.audio_tokens)
            if i in video_rows:
                content += range(video_rows[i], video_rows[i] + cfg.video_tokens)
                slot += range(emb._video, emb._video + cfg.video_tokens)
            for data, start in (
                (item.text[: cfg.max_text_bytes], emb._text),
                (item.background[: cfg.max_background_bytes], emb._background),
            ):
                content += [byte_base + b for b in data]
                slot += range(start, start + len(data))
            pad = self.rows - (len(slot) - filled)
            content += [blank] * pad
            slot += [no_slot] * pad
        batch = len(self.members)
        x = table[torch.tensor(content, device=device).view(batch, self.rows)]
        x += slots[torch.tensor(slot, device=device).view(batch, self.rows)]  # ACT and padding rows: zero
        given = torch.tensor([n - 1 for n in self.counts], dtype=x.dtype, device=device)
        act = (emb.act_query + emb.slots.weight[emb._act : emb._act + 1]) + x.sum(1) / given.clamp(min=1).unsqueeze(1)
        x[torch.arange(batch, device=device), torch.tensor(self.counts, device=device) - 1] = act
        return x + times

    def run(self, tokens: Tensor, times: Tensor) -> list[TurnOutput]:
        """Prefill the turn, commit its tokens to the caches, pick actions, decode, speak."""
        net, cfg, rows, device = self.net, self.cfg, self.rows, self.device
        batch, layers = len(self.members), cfg.n_layers
        capacity = self.caches[0].capacity
        hd = cfg.d_model // cfg.n_heads
        span = capacity + rows + cfg.max_decode_tokens
        keys = torch.empty(layers, batch, cfg.n_kv_heads, hd, span, device=device)  # transposed
        values = torch.empty(layers, batch, cfg.n_kv_heads, span, hd, device=device)
        for b, cache in enumerate(self.caches):
            keys[:, b, :, :, :capacity] = cache.keys.transpose(-1, -2)
            values[:, b, :, :capacity] = cache.values
        held_at = torch.tensor([cache.length for cache in self.caches], device=device)
        held = torch.zeros(batch, 1, 1, capacity, device=device).masked_fill_(
            torch.arange(capacity, device=device).view(1, 1, 1, -1) >= held_at.view(-1, 1, 1, 1), _NEG_INF
        )
        att = _Attention(keys, values, held)
        causal = torch.ones(rows, rows, dtype=torch.bool, device=device).triu_(1)
        group = cfg.n_heads // cfg.n_kv_heads
        tail_mask = torch.zeros(1, 1, rows, rows, device=device).masked_fill_(causal, _NEG_INF).repeat(1, 1, group, 1)
        prefill_mask = torch.cat(
            [held.expand(batch, 1, group * rows, capacity), tail_mask.expand(batch, 1, group * rows, rows)], dim=-1
        )
        x = self._layers(tokens, att, 0, prefill_mask)
        counts = torch.tensor(self.counts, device=device)
        hidden = self._final(x[torch.arange(batch, device=device), counts - 1])
        for b, (cache, n) in enumerate(zip(self.caches, self.counts, strict=True)):
            cache.keys[:, :, cache.length : cache.length + n] = keys[:, b, :, :, capacity : capacity + n].transpose(
                -1, -2
            )
            cache.values[:, :, cache.length : cache.length + n] = values[:, b, :, capacity : capacity + n]
            cache.advance(n)
        head = net.action.proj
        logits = linear(hidden.unsqueeze(1), head.weight, head.bias).squeeze(1)
        actions = [Action(a) for a in logits.argmax(-1).tolist()]
        active = [j for j, action in enumerate(actions) if action is not Action.LISTEN]
        data: dict[int, bytes] = {}
        speech: dict[int, npt.NDArray[np.int16]] = {}
        if active:
            index = torch.tensor(active, device=device)
            data, speech = self._respond(
                active, [actions[j] for j in active], att.select(index), times[index], counts[index]
            )
        outputs = []
        for j, action in enumerate(actions):
            said = data.get(j, b"")
            outputs.append(
                TurnOutput(
                    action=action,
                    text=said if action in (Action.SPEAK, Action.BACKCHANNEL) else b"",
                    audio=speech[j] if j in speech else silence(),
                    delegate=said if action is Action.DELEGATE else b"",
                )
            )
        return outputs

    def _final(self, x: Tensor) -> Tensor:
        assert self.final is not None
        return self.final(x)

    def _layers(self, x: Tensor, att: _Attention, start: int, mask: Tensor) -> Tensor:
        """The transformer blocks over x [B, m, d] written at tail rows [start, start + m).

        `mask` is additive over [cached keys, tail rows 0 .. start + m), broadcastable to
        [B, kv_heads, (n_heads // kv_heads) * m, capacity + start + m]."""
        cfg = self.cfg
        batch, m = x.shape[0], x.shape[1]
        heads, kv, hd = cfg.n_heads, cfg.n_kv_heads, cfg.d_model // cfg.n_heads
        group, capacity = heads // kv, att.capacity
        first, end = capacity + start, capacity + start + m
        for layer, weights in enumerate(self.layers):
            qkv = torch.bmm(weights.attn_norm(x), weights.qkv.expand(batch, -1, -1))
            q, k, v = torch.split(qkv, weights.sizes, dim=-1)
            att.keys[layer, :, :, :, first:end] = k.view(batch, m, kv, hd).permute(0, 2, 3, 1)
            att.values[layer, :, :, first:end] = v.view(batch, m, kv, hd).transpose(1, 2)
            q = (q.view(batch, m, kv, group, hd).permute(0, 2, 3, 1, 4) * hd**-0.5).reshape(batch * kv, group * m, hd)
            keys = att.keys[layer, :, :, :, :end].reshape(batch * kv, hd, end)
            values = att.values[layer, :, :, :end].reshape(batch * kv, end, hd)
            scores = torch.bmm(q, keys).view(batch, kv, group * m, end).add_(mask)
            probs = torch.softmax(scores, dim=-1).view(batch * kv, group * m, end)
            mixed = torch.bmm(probs, values)
            mixed = mixed.view(batch, kv, group, m, hd).permute(0, 3, 1, 2, 4).reshape(batch, m, heads * hd)
            x = x + torch.bmm(mixed, weights.out.expand(batch, -1, -1))
            gate, value = torch.bmm(weights.ffn_norm(x), weights.up.expand(batch, -1, -1)).chunk(2, dim=-1)
            x = x + torch.bmm(F.silu(gate) * value, weights.down.expand(batch, -1, -1))
        return x

    def _decode_step(self, token: Tensor, att: _Attention, mask: Tensor, decoded: int) -> Tensor:
        """Final hidden [R, d] of one decode token per running session, at decode row `decoded`;
        `mask` [R, 1, 1, span] from `_decode_mask`."""
        end = self.rows + decoded + 1
        x = self._layers(token, att, self.rows + decoded, mask[..., : att.capacity + end])
        return self._final(x[:, 0])

    def _decode_mask(self, att: _Attention, counts: Tensor) -> Tensor:
        """Additive [R, 1, 1, span] for decode tokens: what each cache holds, the turn's real
        (unpadded) rows, and every decode row (a decode token sees those before it and itself;
        later rows are not written yet when it runs, and are cut off by `_decode_step`)."""
        rows, device = self.rows, self.device
        padding = torch.zeros(counts.shape[0], 1, 1, rows, device=device).masked_fill_(
            torch.arange(rows, device=device).view(1, 1, 1, -1) >= counts.view(-1, 1, 1, 1), _NEG_INF
        )
        decode = torch.zeros(counts.shape[0], 1, 1, self.cfg.max_decode_tokens, device=device)
        return torch.cat([att.held, padding, decode], dim=-1)

    def _respond(
        self, active: list[int], actions: list[Action], att: _Attention, times: Tensor, counts: Tensor
    ) -> tuple[dict[int, bytes], dict[int, npt.NDArray[np.int16]]]:
        """Decoded bytes and speech of the non-LISTEN sessions (`active`, batch indices)."""
        net, cfg, emb, resp, device = self.net, self.cfg, self.net.embedder, self.net.responder, self.device
        items = [self.inputs[j] for j in active]
        delegating = [action is Action.DELEGATE for action in actions]
        limits = [cfg.max_delegate_out if d else cfg.max_text_out for d in delegating]
        draws = [
            sampling_noise(limit, cfg.text_temperature, session_generator(item.session_key, item.turn, "text"))
            for limit, item in zip(limits, items, strict=True)
        ]
        noise = None if draws[0] is None else pad_sequence([d for d in draws if d is not None], batch_first=True)
        if noise is not None:
            noise = noise.to(device)
        first_tokens = emb.actions.weight[torch.tensor([int(a) for a in actions], device=device)]
        token = (first_tokens + emb.slots.weight[emb._out]).unsqueeze(1) + times
        mask = self._decode_mask(att, counts)
        first = self._decode_step(token, att, mask, 0)
        said = [bytearray() for _ in active]
        running = list(range(len(active)))
        hidden, position = first, 1
        is_delegate = torch.tensor(delegating, device=device).unsqueeze(1)
        text, delegate = resp.text.proj, resp.delegate.proj
        while running:
            kinds = {delegating[r] for r in running}
            if len(kinds) == 1:  # one head for all: each row is the same per-session product either way
                head = delegate if True in kinds else text
                logits = linear(hidden.unsqueeze(1), head.weight, head.bias).squeeze(1)
            else:
                logits = torch.where(
                    is_delegate,
                    linear(hidden.unsqueeze(1), delegate.weight, delegate.bias).squeeze(1),
                    linear(hidden.unsqueeze(1), text.weight, text.bias).squeeze(1),
                )
            if noise is not None:
                logits = logits + noise[:, position - 1]
            feed = []
            for r, value in zip(running, logits.argmax(-1).tolist(), strict=True):
                if value != EOS:
                    said[r].append(value)
                    if position < limits[r]:
                        feed.append(r)
            if not feed:
                break
            if len(feed) < len(running):
                keep = torch.tensor([running.index(r) for r in feed], device=device)
                att, times, mask, is_delegate = (
                    att.select(keep),
                    times.index_select(0, keep),
                    mask.index_select(0, keep),
                    is_delegate.index_select(0, keep),
                )
                noise = None if noise is None else noise.index_select(0, keep)
            running = feed
            values = torch.tensor([said[r][-1] for r in running], device=device)
            token = (emb.bytes.weight[values] + emb.slots.weight[emb._out + position]).unsqueeze(1) + times
            hidden = self._decode_step(token, att, mask, position)
            position += 1
        data = {j: valid_utf8(bytes(out)) for j, out in zip(active, said, strict=True)}
        speaking = [r for r, d in enumerate(delegating) if not d]
        speech: dict[int, npt.NDArray[np.int16]] = {}
        if speaking:
            waves = _speech(net, first[torch.tensor(speaking, device=device)], [items[r] for r in speaking])
            speech = {active[r]: wave for r, wave in zip(speaking, waves, strict=True)}
        return data, speech


def _speech(net: InteractionNetwork, cond: Tensor, items: list[TurnInput]) -> list[npt.NDArray[np.int16]]:
    """`Responder.speech` with per-session matrix products: int16 [3200] per item."""
    resp = net.responder
    flow, vocoder = resp.flow, resp.vocoder
    noise = torch.stack([resp.noise(item) for item in items]).to(cond.device)
    cond_part = linear(cond.unsqueeze(1), flow.cond.weight, flow.cond.bias) + flow.frame  # [B, frames, fd]
    step_part = F.linear(flow.step_times, flow.time.weight)  # [steps, fd], the same for every session
    x = noise
    for step in range(flow.steps):
        h = F.silu(linear(x, flow.inp.weight) + (cond_part + step_part[step]))
        h = F.silu(linear(h, flow.hidden.weight, flow.hidden.bias))
        x = torch.add(x, linear(h, flow.out.weight, flow.out.bias), alpha=1.0 / flow.steps)
    amp = torch.exp(x.clamp(*_MEL_CLAMP))
    offsets = [vocoder.phase_offsets(item.turn) for item in items]
    coef = torch.tensor([c + s for c, s in offsets], dtype=x.dtype, device=x.device).unsqueeze(1)
    per_frame = matmul(torch.cat([amp, amp], dim=-1) * coef, vocoder.basis)  # [B, frames, 3200]
    wave = (per_frame * vocoder.interp).sum(dim=-2)
    samples = (wave * vocoder._scale).clamp_(-32767.0, 32767.0).round_().to(torch.int16).cpu().numpy()
    return list(samples)
