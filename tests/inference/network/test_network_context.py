"""Streaming sessions: bounded memory, and the cache computes what a full recompute computes."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from torch import Tensor

from inference.network import CONFIGS, InteractionNetwork, TurnInput
from inference.network.cache import KVCache
from tests.inference.network.factory import make_turn

AUDIO_ONLY_TOKENS = 3
"""Tokens of a turn with audio only: 2 audio tokens + ACT (tiny)."""


@pytest.fixture(scope="module")
def small_window() -> InteractionNetwork:
    """The tiny model with a 60-token window (20 audio-only turns), for fast eviction tests."""
    return InteractionNetwork.seeded(dataclasses.replace(CONFIGS["tiny"], window_tokens=60), seed=0)


def audio_turn(session: str, turn: int) -> TurnInput:
    item = make_turn(session, turn)
    return TurnInput(session, turn, item.audio, None, b"", b"")


def test_memory_stops_growing_once_the_window_is_full(small_window: InteractionNetwork) -> None:
    cfg = small_window.config
    window_turns = (cfg.sink_tokens + cfg.window_tokens) // AUDIO_ONLY_TOKENS
    state, sizes = small_window.new_state(), []
    for k in range(4 * window_turns):
        small_window.step([audio_turn("long", k)], [state])
        sizes.append(state.nbytes())
    assert sizes[0] < sizes[-1], "the cache should start small"
    assert len(set(sizes[2 * window_turns :])) == 1, "no growth after the window is full"
    assert state.cache.length == cfg.sink_tokens + cfg.window_tokens
    assert state.cache.evicted == 4 * window_turns * AUDIO_ONLY_TOKENS - state.cache.length
    assert state.turns_seen == 4 * window_turns


def test_tiny_memory_is_bounded_over_a_long_session(tiny: InteractionNetwork) -> None:
    cfg, state = tiny.config, tiny.new_state()
    bound = (
        2
        * cfg.n_layers
        * cfg.n_kv_heads
        * (cfg.d_model // cfg.n_heads)
        * 4
        * (cfg.sink_tokens + cfg.window_tokens + cfg.max_decode_tokens)
    )
    for k in range(400):
        tiny.step([make_turn("bounded", k)], [state])
        assert state.nbytes() <= bound
    assert state.cache.evicted > 0


def test_streaming_equals_recompute_before_eviction(tiny: InteractionNetwork) -> None:
    """Same tokens, same math; only the row count of the matrix products differs (a turn's few
    tokens vs. the whole history), which may round the last bit differently. Tolerance: identical
    action, text and delegation, audio within 2 LSB (observed: mostly bitwise equal, else 1 LSB)."""
    state, history, exact = tiny.new_state(), [], 0
    for k in range(40):
        history.append(make_turn("recompute", k))
        streamed = tiny.step([history[-1]], [state])[0]
        if k % 3 == 2:
            again = tiny.recompute(history)
            assert (again.action, again.text, again.delegate) == (streamed.action, streamed.text, streamed.delegate)
            assert np.abs(again.audio.astype(np.int32) - streamed.audio.astype(np.int32)).max() <= 2
            exact += again == streamed
    assert state.cache.evicted == 0
    assert exact >= 1


def test_recompute_runs_on_the_retained_window_only(
    small_window: InteractionNetwork, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After eviction recompute keeps the cache's tokens (sinks + window), so its cost is bounded
    too. (Its output may differ from streaming then: streamed keys saw the evicted context.)"""
    cfg, seen = small_window.config, []
    forward = small_window.decoder.forward

    def recording(x: Tensor, cache: KVCache | None = None) -> Tensor:
        seen.append(x.shape[0])
        return forward(x, cache)

    monkeypatch.setattr(small_window.decoder, "forward", recording)
    out = small_window.recompute([audio_turn("evicted", k) for k in range(60)])
    assert out.audio.shape == (3200,)
    assert seen[0] == cfg.sink_tokens + cfg.window_tokens
    assert max(seen) <= cfg.sink_tokens + cfg.window_tokens + cfg.max_decode_tokens
