"""The reference interaction network: encoder-free early fusion over a stream of micro-turns.

Per micro-turn and session: the turn's inputs become a few tokens (`tokens.py`), one prefill runs
them through the shared transformer against the session's KV cache, the ACT token's hidden state
picks the action, and a short decode against the same cache produces text or a delegation task and
conditions the flow-matching speech head (`respond.py`).

Batch invariance: `step` (`batched.py`) runs all sessions of a call in one batched forward whose
every matrix product, reduction and attention has a per-session shape that depends on that
session alone (its padded turn length and its cache capacity), so outputs are bitwise the same
alone or in any batch, in any order. On CPU each call pins one intra-op thread (`numerics.py`), so
the host's thread setting does not change the bits either. `step_per_session` is the previous,
one-session-at-a-time step (also invariant, other bits), kept for the benchmarks; `step_fast`
(`fast.py`) batches with plain stacked products and is NOT invariant.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor, nn

from inference.network.cache import SessionState
from inference.network.config import TURN_SAMPLES, ModelConfig
from inference.network.errors import InputError, StateError
from inference.network.heads import ActionHead
from inference.network.numerics import single_thread
from inference.network.respond import Responder
from inference.network.seeding import calibrate_action_head, init_weights
from inference.network.tokens import TurnEmbedder
from inference.network.transformer import Decoder
from inference.network.turns import TurnInput, TurnOutput

_CALIBRATION_PATTERN = [c == "L" for c in "QLLQLQQLQQLLLLQQQLQLLQLQQLLQLQQL" * 3]
"""Silent (Q) and loud (L) turns of the seeded-init calibration session: balanced within every
four turns and across odd and even turns, so time does not line up with loudness."""


class InteractionNetwork(nn.Module):
    """One model version. Build it with `seeded` (tests) or `load_checkpoint` (everything else)."""

    def __init__(self, config: ModelConfig) -> None:
        """Allocate the modules with zeroed weights; `seeded` or a checkpoint fills them."""
        super().__init__()
        self.config = config
        with torch.device("meta"):
            self.embedder = TurnEmbedder(config)
            self.decoder = Decoder(config)
            self.action = ActionHead(config)
            self.responder = Responder(config)
        self.to_empty(device="cpu")
        with torch.no_grad():
            for param in self.parameters():
                param.zero_()
            for module in self.modules():
                fill = getattr(module, "fill_constants", None)
                if fill is not None:
                    fill()
        self._digest: str | None = None

    @classmethod
    def seeded(cls, config: ModelConfig, seed: int) -> InteractionNetwork:
        """Random weights from `seed`, identical in every process. Tests and demos only: untrained."""
        network = cls(config)
        init_weights(network, config, seed)
        with single_thread(network.device):
            network._calibrate()
        return network.eval()

    @torch.inference_mode()
    def _calibrate(self) -> None:
        """Seeded init only (see `seeding.calibrate_action_head`): run a fixed calibration session
        that mixes silent and loud turns, and compare the ACT hidden states of the two kinds."""
        loud = (np.random.default_rng(0).standard_normal(TURN_SAMPLES) * 3000.0).astype(np.int16)
        silent = np.zeros(TURN_SAMPLES, dtype=np.int16)
        state, hidden = self.new_state(), {True: list[Tensor](), False: list[Tensor]()}
        for turn, is_loud in enumerate(_CALIBRATION_PATTERN):
            probe = TurnInput("calibration", turn, loud if is_loud else silent, None, b"", b"")
            tokens = self.embedder.turn_tokens(probe, self.embedder.time(turn))
            state.cache.reserve(tokens.shape[0])
            hidden[is_loud].append(self.decoder.forward(tokens, state.cache)[-1])
        calibrate_action_head(self.action.proj, torch.stack(hidden[False]), torch.stack(hidden[True]))

    @property
    def digest(self) -> str:
        """Hex sha256 of the config and every weight (see `checkpoint.weights_digest`).

        Computed on first use and cached: weights changed afterwards are not reflected.
        """
        if self._digest is None:
            from inference.network.checkpoint import weights_digest

            self._digest = weights_digest(self.config, self.state_dict())
        return self._digest

    @property
    def version(self) -> str:
        """`f"{config.name}-{digest[:12]}"`, recorded per session."""
        return f"{self.config.name}-{self.digest[:12]}"

    @property
    def device(self) -> torch.device:
        return self.embedder.act_query.device

    def new_state(self) -> SessionState:
        """Empty state for a new session (or for rebuilding one by replaying its turns)."""
        with torch.no_grad():
            return SessionState(self.config, self.device)

    @torch.inference_mode()
    def step(self, inputs: Sequence[TurnInput], states: Sequence[SessionState]) -> list[TurnOutput]:
        """Run one micro-turn for each session; `states[i]` belongs to `inputs[i]` and is advanced.

        Every input and state is checked before any state changes, so a rejected batch (an
        `InputError` or `StateError`) leaves all sessions untouched. Outputs are bitwise
        independent of the batch's size, membership and order.
        """
        from inference.network.batched import step_batched

        self.check_batch(inputs, states)
        with single_thread(self.device):
            return step_batched(self, inputs, states)

    @torch.inference_mode()
    def step_per_session(self, inputs: Sequence[TurnInput], states: Sequence[SessionState]) -> list[TurnOutput]:
        """The previous `step`: each session on its own, one small kernel after another. Also
        batch-invariant, with other bits than `step`; for the benchmarks' old-vs-new comparison."""
        self.check_batch(inputs, states)
        with single_thread(self.device):
            return [self._turn(item, state) for item, state in zip(inputs, states, strict=True)]

    def _turn(self, item: TurnInput, state: SessionState) -> TurnOutput:
        cfg, cache = self.config, state.cache
        time = self.embedder.time(item.turn)
        tokens = self.embedder.turn_tokens(item, time)
        cache.reserve(tokens.shape[0], scratch=cfg.max_decode_tokens)
        context = cache.length + tokens.shape[0]
        hidden = self.decoder.forward(tokens, cache)[-1]
        action = self.action.choose(hidden)
        output = self.responder.respond(
            action, item, time, self.embedder, lambda token: self.decoder.forward(token, cache)[-1]
        )
        cache.truncate(context)
        state.session_key, state.last_turn, state.turns_seen = item.session_key, item.turn, state.turns_seen + 1
        return output

    @torch.inference_mode()
    def recompute(self, history: Sequence[TurnInput]) -> TurnOutput:
        """Output of the last turn of `history` (one session's turns, in order), computed without a
        cache: every retained token of the history goes through the transformer again, and each
        decode token re-runs the whole sequence. Retention is the cache's: the first `sink_tokens`
        and last `window_tokens` tokens. Equals `step`'s output while nothing was evicted yet
        (up to float rounding of different matrix shapes, see the tests); for benchmarks."""
        with single_thread(self.device):
            return self._recompute(history)

    def _recompute(self, history: Sequence[TurnInput]) -> TurnOutput:
        if not history:
            raise InputError("recompute: expected at least one TurnInput, got an empty history")
        state = self.new_state()
        self.check_batch(history[:1], [state])
        for previous, item in itertools.pairwise(history):
            if item.session_key != previous.session_key or item.turn <= previous.turn:
                raise StateError(
                    f"recompute: expected one session's turns in increasing order, got turn "
                    f"{item.turn} of {item.session_key!r} after turn {previous.turn} of "
                    f"{previous.session_key!r}"
                )
        tokens = self._retained_tokens(history)
        action = self.action.choose(self.decoder.forward(tokens)[-1])
        decoded: list[Tensor] = []

        def advance(token: Tensor) -> Tensor:
            decoded.append(token)
            return self.decoder.forward(torch.cat([tokens, *decoded]))[-1]

        last = history[-1]
        return self.responder.respond(action, last, self.embedder.time(last.turn), self.embedder, advance)

    def _retained_tokens(self, history: Sequence[TurnInput]) -> Tensor:
        """The first `sink_tokens` and last `window_tokens` tokens of the history's token stream,
        encoding only the turns that contribute to them."""
        embed = self.embedder
        counts = [embed.token_count(item) for item in history]
        sink, window = self.config.sink_tokens, self.config.window_tokens

        def tokens(item: TurnInput) -> Tensor:
            return embed.turn_tokens(item, embed.time(item.turn))

        if sum(counts) <= sink + window:
            return torch.cat([tokens(item) for item in history])
        first, held = 0, 0
        while held < sink:
            held, first = held + counts[first], first + 1
        last, held = len(history), 0
        while held < window:
            last -= 1
            held += counts[last]
        head = torch.cat([tokens(item) for item in history[:first]])[:sink]
        tail = torch.cat([tokens(item) for item in history[last:]])[-window:]
        return torch.cat([head, tail])

    def step_fast(self, inputs: Sequence[TurnInput], states: Sequence[SessionState]) -> list[TurnOutput]:
        """Batched across sessions and NOT batch-invariant: for the invariance-cost benchmark only."""
        from inference.network.fast import step_fast

        self.check_batch(inputs, states)
        with torch.inference_mode(), single_thread(self.device):
            return step_fast(self, inputs, states)

    def check_batch(self, inputs: Sequence[TurnInput], states: Sequence[SessionState]) -> None:
        """Raise `InputError`/`StateError` unless every (input, state) pair may run now."""
        if len(inputs) != len(states):
            raise InputError(f"step: expected one state per input, got {len(inputs)} inputs and {len(states)} states")
        if len({id(state) for state in states}) != len(states):
            raise StateError("step: expected each session once per batch, got the same SessionState twice")
        for item, state in zip(inputs, states, strict=True):
            if not isinstance(item, TurnInput):
                raise InputError(f"step: expected TurnInput items, got {type(item).__name__}")
            if not isinstance(state, SessionState):
                raise StateError(f"step: expected SessionState items, got {type(state).__name__}")
            if state.config is not self.config and state.config != self.config:
                raise StateError(
                    f"step: state was made by model config {state.config.name!r}, "
                    f"this model is {self.config.name!r} with other settings"
                )
            if state.session_key is not None and state.session_key != item.session_key:
                raise StateError(
                    f"step: state belongs to session {state.session_key!r}, got input of session {item.session_key!r}"
                )
            if item.turn <= state.last_turn:
                raise StateError(
                    f"step: session {item.session_key!r} expected a turn after {state.last_turn}, got turn {item.turn}"
                )
