"""The training loop: seeded init, teacher-forced losses over fresh synthetic sessions, AdamW.

Losses per batch (all through `forward.py`, i.e. the network's own modules):

- action: cross-entropy of the action head on every turn's ACT token (classes weighted, LISTEN is
  most turns);
- bytes: cross-entropy of the text head (SPEAK/BACKCHANNEL) or delegate head (DELEGATE) on every
  decode token, target byte or EOS, exactly the picks `Responder.decode` makes;
- speech: flow matching of the flow head towards a fixed speech-like mel pattern (louder for SPEAK
  than for BACKCHANNEL), conditioned on the action token's hidden state (detached: the audio head
  learns to read the state, it does not shape it), at the Euler step times sampling uses;
- aux: an extra linear head (trained alongside, then dropped) predicts each turn's audio history
  (`data.audio_history`) from its ACT token, a dense signal for what the turn-taking rules read.

Training starts from the seeded init plus `warmstart.relative_time_start` (attention heads that
look a fixed number of turns back), and draws fresh sessions every step (`data.py`), bucketed by
length in rounds of `ROUND_STEPS` steps to limit padding.

Everything is seeded from `seed` (weights init, sessions, flow noise) and runs on one CPU thread,
so the same command reproduces the same weights, bit for bit, on the same machine and torch build.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from inference.network.config import CONFIGS, ModelConfig
from inference.network.network import InteractionNetwork
from inference.network.turns import Action
from inference.training.data import AUX_FEATURES, Session, generate_sessions
from inference.training.forward import Batch, build_batch, hidden_states
from inference.training.warmstart import relative_time_start


@dataclass(frozen=True)
class TrainSettings:
    steps: int = 1700
    seed: int = 0
    config: str = "tiny"
    batch_sessions: int = 8
    lr: float = 5e-3
    min_lr_ratio: float = 0.05
    warmup: int = 40
    clip: float = 1.0
    action_weights: tuple[float, float, float, float] = (1.0, 1.5, 2.0, 2.0)
    """Cross-entropy weights of LISTEN, SPEAK, BACKCHANNEL, DELEGATE."""
    byte_weight: float = 0.5
    flow_weight: float = 0.2
    warm_start: bool = True
    """Start from `warmstart.relative_time_start` on top of the seeded init."""
    aux_weight: float = 0.5
    """Weight of the auxiliary audio-history loss (an extra linear head on the ACT token, dropped
    after training)."""
    speech_share: float = 0.0
    """Share of each round's sessions drawn from the spoken corpus (`train(speech=...)`; tiny-v2)."""


def speech_mel(config: ModelConfig, actions: Tensor) -> Tensor:
    """[S, out_frames, out_bands] target mel frames of SPEAK (1) / BACKCHANNEL (2) turns: a falling
    spectral tilt with two formant bumps under a syllable envelope; BACKCHANNEL is 1.5 nepers softer.
    Through `SineVocoder` the trained model speaks at about -29 dBFS RMS, backchannels at about -42."""
    bands = torch.arange(config.out_bands, dtype=torch.float32) * (16.0 / config.out_bands)
    frames = torch.arange(config.out_frames, dtype=torch.float32)
    spectrum = (
        1.2
        - 0.45 * bands
        + 1.2 * torch.exp(-(((bands - 3.0) / 1.5) ** 2))
        + 0.8 * torch.exp(-(((bands - 7.5) / 1.8) ** 2))
    )
    envelope = 0.6 * torch.sin(math.pi * (frames + 0.5) / config.out_frames) - 0.3
    mel = (spectrum.unsqueeze(0) + envelope.unsqueeze(1)).clamp(min=-8.0)
    softer = (actions == int(Action.BACKCHANNEL)).to(torch.float32).view(-1, 1, 1) * 1.5
    return mel.unsqueeze(0) - softer


def flow_loss(net: InteractionNetwork, cond: Tensor, actions: Tensor, generator: torch.Generator) -> Tensor:
    """Flow-matching loss of the flow head: velocity at x_t = (1 - t) x0 + t x1 should be x1 - x0,
    at the step times `FlowHead` integrates over."""
    flow, cfg = net.responder.flow, net.config
    target = speech_mel(cfg, actions)
    noise = torch.randn(target.shape, generator=generator)
    step = torch.randint(0, flow.steps, (cond.shape[0],), generator=generator)
    t = (step.to(torch.float32) / flow.steps).view(-1, 1, 1)
    x_t = (1.0 - t) * noise + t * target
    cond_part = F.linear(cond, flow.cond.weight, flow.cond.bias).unsqueeze(-2) + flow.frame
    time_part = F.linear(flow.step_times[step], flow.time.weight).unsqueeze(1)
    h = F.silu(F.linear(x_t, flow.inp.weight) + cond_part + time_part)
    h = F.silu(F.linear(h, flow.hidden.weight, flow.hidden.bias))
    velocity = F.linear(h, flow.out.weight, flow.out.bias)
    return F.mse_loss(velocity, target - noise)


def losses(
    net: InteractionNetwork,
    batch: Batch,
    settings: TrainSettings,
    generator: torch.Generator,
    aux_head: nn.Linear | None = None,
) -> dict[str, Tensor]:
    """The loss terms of one batch and their weighted `total`."""
    hidden = hidden_states(net, batch)
    act_hidden = hidden[batch.act_of_turn]
    logits = net.action.forward(act_hidden)
    weights = torch.tensor(settings.action_weights)
    action = F.cross_entropy(logits, batch.action_labels, weight=weights)
    accuracy = (logits.argmax(-1) == batch.action_labels).to(torch.float32).mean()
    decode = hidden[batch.decode_tokens]
    text_rows, delegate_rows = ~batch.decode_delegate, batch.decode_delegate
    zero = torch.zeros(())
    text = (
        F.cross_entropy(net.responder.text.forward(decode[text_rows]), batch.decode_targets[text_rows])
        if bool(text_rows.any())
        else zero
    )
    delegate = (
        F.cross_entropy(net.responder.delegate.forward(decode[delegate_rows]), batch.decode_targets[delegate_rows])
        if bool(delegate_rows.any())
        else zero
    )
    speech = (
        flow_loss(net, hidden[batch.speech_tokens].detach(), batch.speech_actions, generator)
        if batch.speech_tokens.shape[0]
        else zero
    )
    aux = F.binary_cross_entropy_with_logits(aux_head(act_hidden), batch.aux_targets) if aux_head is not None else zero
    total = (
        action + settings.byte_weight * (text + delegate) + settings.flow_weight * speech + settings.aux_weight * aux
    )
    return {
        "total": total,
        "action": action,
        "text": text,
        "delegate": delegate,
        "speech": speech,
        "aux": aux,
        "action_accuracy": accuracy,
    }


def learning_rate(settings: TrainSettings, step: int) -> float:
    """Linear warmup, then cosine decay to `min_lr_ratio` of the peak."""
    if step < settings.warmup:
        return settings.lr * (step + 1) / settings.warmup
    progress = (step - settings.warmup) / max(1, settings.steps - settings.warmup)
    cosine = 0.5 * (1 + math.cos(math.pi * progress))
    return settings.lr * (settings.min_lr_ratio + (1 - settings.min_lr_ratio) * cosine)


ROUND_STEPS = 8
"""Steps whose sessions are drawn together and bucketed by length (less padding per batch)."""


def session_tokens(net: InteractionNetwork, session: Session) -> int:
    """Tokens the session occupies in a training sequence (context plus decode tokens)."""
    return sum(
        net.embedder.token_count(t.input) + (len(t.target) + 1 if t.action is not Action.LISTEN else 0)
        for t in session.turns
    )


def round_batches(
    net: InteractionNetwork, settings: TrainSettings, round_index: int, speech: Sequence[Session] = ()
) -> list[list[Session]]:
    """The sessions of `ROUND_STEPS` training steps: indices [r * R * B, (r + 1) * R * B) of seed
    `seed` (with `speech`, a `speech_share` of them replaced by spoken dialogues drawn with a seeded
    generator), sorted by length, cut into R batches of B, in a seeded order."""
    count = settings.batch_sessions * ROUND_STEPS
    spoken = round(count * settings.speech_share) if speech else 0
    sessions = generate_sessions(net.config, settings.seed, round_index * count, count - spoken)
    if spoken:
        picks = np.random.default_rng([settings.seed, round_index, 0x5BEEC]).choice(len(speech), spoken)
        sessions += [speech[int(i)] for i in picks]
    sessions.sort(key=lambda s: session_tokens(net, s))
    batches = [sessions[i : i + settings.batch_sessions] for i in range(0, count, settings.batch_sessions)]
    order = np.random.default_rng([settings.seed, round_index, 0xBA7C]).permutation(len(batches))
    return [batches[int(i)] for i in order]


Log = Callable[[int, dict[str, float], float], None]


def train(
    settings: TrainSettings,
    log: Log | None = None,
    log_every: int = 50,
    net: InteractionNetwork | None = None,
    aux_head: nn.Linear | None = None,
    speech: Sequence[Session] = (),
) -> InteractionNetwork:
    """Train from the seeded init of `settings.config` (or from `net`) and return a fresh network in
    eval mode holding the trained weights (its digest computed from them)."""
    torch.manual_seed(settings.seed)
    model = net if net is not None else InteractionNetwork.seeded(CONFIGS[settings.config], settings.seed)
    if net is None and settings.warm_start:
        relative_time_start(model)
    model.train()
    if aux_head is None:
        aux_head = nn.Linear(model.config.d_model, AUX_FEATURES)  # seeded by torch.manual_seed above
    params = [p for p in model.parameters() if p.requires_grad] + list(aux_head.parameters())
    optimizer = torch.optim.AdamW(params, lr=settings.lr, betas=(0.9, 0.98), weight_decay=0.0)
    generator = torch.Generator().manual_seed(settings.seed)
    started = time.monotonic()
    pending: list[list[Session]] = []
    for step in range(settings.steps):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(settings, step)
        if step % ROUND_STEPS == 0:
            pending = round_batches(model, settings, step // ROUND_STEPS, speech)
        terms = losses(model, build_batch(model, pending[step % ROUND_STEPS]), settings, generator, aux_head)
        optimizer.zero_grad(set_to_none=True)
        terms["total"].backward()  # type: ignore[no-untyped-call]
        torch.nn.utils.clip_grad_norm_(params, settings.clip)
        optimizer.step()
        if log is not None and (step % log_every == 0 or step == settings.steps - 1):
            log(step, {name: float(value.detach()) for name, value in terms.items()}, time.monotonic() - started)
    return export(model)


def export(model: InteractionNetwork) -> InteractionNetwork:
    """A fresh eval-mode network with `model`'s weights (no autograd state, digest not yet cached)."""
    fresh = InteractionNetwork(model.config)
    with torch.no_grad():
        fresh.load_state_dict({name: value.detach().clone() for name, value in model.state_dict().items()})
    return fresh.eval()
