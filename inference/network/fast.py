"""The batched step: what `InteractionNetwork.step` would cost without batch invariance.

Benchmarks only (`benchmarks/model_invariance_cost.py`). Same model, same tokens, same retention
and seeds as `step`, but every linear layer, norm and head runs once over all sessions' tokens
stacked together (padded to the longest turn), and the encoders run once per batch. Only attention
stays per session, since each session has its own cache length. A matrix product over a stack of
rows may round a row differently depending on how many rows are stacked with it, so these outputs
can differ (slightly) from `step`'s and from one batch composition to the next: exactly what
`step` must not do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn.utils.rnn import pad_sequence

from inference.network.cache import KVCache, SessionState
from inference.network.config import EOS
from inference.network.heads import sampling_noise
from inference.network.network import InteractionNetwork
from inference.network.respond import silence, valid_utf8
from inference.network.seeding import session_generator
from inference.network.transformer import Block, prefix_causal_mask
from inference.network.turns import Action, TurnInput, TurnOutput
from inference.network.vision import fit_frame


def step_fast(net: InteractionNetwork, inputs: Sequence[TurnInput], states: Sequence[SessionState]) -> list[TurnOutput]:
    """One micro-turn for every session, batched; the caller has checked inputs and states."""
    cfg, emb = net.config, net.embedder
    caches = [state.cache for state in states]
    feats = torch.tensor([emb.clock.features(item.turn) for item in inputs], device=net.device)
    times = emb.clock.proj(feats)
    tokens = _turn_tokens(net, inputs, times)
    for cache, run in zip(caches, tokens, strict=True):
        cache.reserve(run.shape[0], scratch=cfg.max_decode_tokens)
    contexts = [cache.length + run.shape[0] for cache, run in zip(caches, tokens, strict=True)]
    hidden = _forward(net, tokens, caches)
    actions = [Action(int(a)) for a in net.action.forward(hidden).argmax(-1).tolist()]
    outputs = _respond(net, inputs, caches, times, actions)
    for cache, context, item, state in zip(caches, contexts, inputs, states, strict=True):
        cache.truncate(context)
        state.session_key, state.last_turn, state.turns_seen = item.session_key, item.turn, state.turns_seen + 1
    return outputs


def _turn_tokens(net: InteractionNetwork, inputs: Sequence[TurnInput], times: Tensor) -> list[Tensor]:
    """Each session's turn tokens, as in `TurnEmbedder.turn_tokens`, with the encoders batched."""
    cfg, emb, slots = net.config, net.embedder, net.embedder.slots.weight
    audio_in = {i: a for i, item in enumerate(inputs) if (a := item.audio) is not None}
    video_in = {i: fit_frame(v, cfg.video_size) for i, item in enumerate(inputs) if (v := item.video) is not None}
    audio: dict[int, Tensor] = {}
    if audio_in:
        batch = torch.from_numpy(np.stack(list(audio_in.values()))).to(net.device)
        encoded = emb.dmel.forward(batch) + slots[emb._audio : emb._audio + cfg.audio_tokens]
        audio = dict(zip(audio_in, encoded, strict=True))
    video: dict[int, Tensor] = {}
    if video_in:
        batch = torch.from_numpy(np.stack(list(video_in.values()))).to(net.device)
        encoded = emb.vision.forward(batch) + slots[emb._video : emb._video + cfg.video_tokens]
        video = dict(zip(video_in, encoded, strict=True))
    act = emb.act_query + slots[emb._act : emb._act + 1]
    runs = []
    for i, item in enumerate(inputs):
        parts = [part[i] for part in (audio, video) if i in part]
        for data, limit, start in (
            (item.text, cfg.max_text_bytes, emb._text),
            (item.background, cfg.max_background_bytes, emb._background),
        ):
            if data:
                ids = emb.byte_ids(data[:limit])
                parts.append(emb.bytes(ids) + slots[start : start + ids.shape[0]])
        if parts:
            stacked = torch.cat(parts)
            runs.append(torch.cat([stacked, act + stacked.mean(0, keepdim=True)]) + times[i])
        else:
            runs.append(act + times[i])
    return runs


def _forward(net: InteractionNetwork, runs: list[Tensor], caches: list[KVCache]) -> Tensor:
    """Prefill/decode every session's run of tokens at once; returns each run's last hidden [B, d]."""
    lengths = [run.shape[0] for run in runs]
    x = pad_sequence(runs, batch_first=True)  # [B, n_max, d]
    masks = [prefix_causal_mask(cache.length, n, x.device) for cache, n in zip(caches, lengths, strict=True)]
    for layer, module in enumerate(net.decoder.blocks):
        block = cast(Block, module)
        attn = block.attn
        qkv = F.linear(block.attn_norm.forward(x), attn.qkv.weight)
        mixed = torch.zeros(x.shape[0], x.shape[1], attn.heads * attn.head_dim, device=x.device)
        for i, (cache, n) in enumerate(zip(caches, lengths, strict=True)):
            q, k, v = attn.split_heads(qkv[i, :n])
            k, v = cache.write(layer, k, v)
            mixed[i, :n] = attn.attend(q, k, v, masks[i])
        x = x + F.linear(mixed, attn.out.weight)
        x = x + block.ffn.forward(block.ffn_norm.forward(x))
    for cache, n in zip(caches, lengths, strict=True):
        cache.advance(n)
    last = x[torch.arange(len(runs)), torch.tensor(lengths) - 1]
    return net.decoder.norm.forward(last)


def _respond(
    net: InteractionNetwork, inputs: Sequence[TurnInput], caches: list[KVCache], times: Tensor, actions: list[Action]
) -> list[TurnOutput]:
    """Batched `Responder.respond`: all decoding sessions advance one token per step together."""
    cfg, emb, resp = net.config, net.embedder, net.responder
    active = [i for i, action in enumerate(actions) if action is not Action.LISTEN]
    data: dict[int, bytearray] = {i: bytearray() for i in active}
    limits = {i: cfg.max_delegate_out if actions[i] is Action.DELEGATE else cfg.max_text_out for i in active}
    noise = {
        i: sampling_noise(
            limits[i], cfg.text_temperature, session_generator(inputs[i].session_key, inputs[i].turn, "text")
        )
        for i in active
    }
    first: Tensor | None = None
    if active:
        first_tokens = [emb.actions.weight[int(actions[i])] + emb.slots.weight[emb._out] + times[i] for i in active]
        first = _forward(net, [token.unsqueeze(0) for token in first_tokens], [caches[i] for i in active])
    hidden, running, position = first, list(active), 1
    while running and hidden is not None:
        logits = torch.where(
            torch.tensor([actions[i] is Action.DELEGATE for i in running]).unsqueeze(1),
            resp.delegate.forward(hidden),
            resp.text.forward(hidden),
        )
        rows = [n[position - 1] if (n := noise[i]) is not None else torch.zeros(logits.shape[1]) for i in running]
        picks = (logits + torch.stack(rows).to(logits.device)).argmax(-1).tolist()
        feed = []
        for i, value in zip(running, picks, strict=True):
            if value != EOS:
                data[i].append(value)
                if position < limits[i]:
                    feed.append(i)
        running, position = feed, position + 1
        if running:
            tokens = [emb.output_byte(data[i][-1], position - 1, times[i : i + 1]) for i in running]
            hidden = _forward(net, tokens, [caches[i] for i in running])
    speaking = [j for j, i in enumerate(active) if actions[i] is not Action.DELEGATE]
    speech = {}
    if speaking and first is not None:
        waves = resp.speech(first[speaking], [inputs[active[j]] for j in speaking])
        speech = {active[j]: wave for j, wave in zip(speaking, waves, strict=True)}
    outputs = []
    for i, action in enumerate(actions):
        text = valid_utf8(bytes(data.get(i, b""))) if action in (Action.SPEAK, Action.BACKCHANNEL) else b""
        task = valid_utf8(bytes(data[i])) if action is Action.DELEGATE else b""
        outputs.append(TurnOutput(action=action, text=text, audio=speech.get(i, silence()), delegate=task))
    return outputs
