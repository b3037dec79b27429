"""Per-session KV cache with attention sinks and a sliding window, and the session state around it.

Retention rule (the one `InteractionNetwork.recompute` reproduces): of a session's token stream,
the cache keeps the first `sink_tokens` tokens and the last `window_tokens` tokens. Before a turn's
tokens are written, `reserve` evicts just enough of the oldest non-sink tokens that the turn fits;
so after turn k the cache holds exactly "first S + last W" of the stream up to turn k. Decode tokens
are scratch: the batched step keeps them in its own buffer (`batched.py`), the per-session step
writes them after the turn's tokens and drops them with `truncate` (the context is a function of
the recorded inputs only; see `network.py`).

Memory grows by doubling up to `sink + window + max_decode_tokens` tokens and then stays there, so
an 18,000-turn session holds the same few buffers as a 500-turn one.
"""

from __future__ import annotations

import torch
from torch import Tensor

from inference.network.config import ModelConfig

_INITIAL_TOKENS = 32


class KVCache:
    """Keys and values of every layer: two tensors [n_layers, n_kv_heads, capacity, head_dim]."""

    def __init__(self, config: ModelConfig, device: torch.device) -> None:
        self.sink = config.sink_tokens
        self.limit = config.sink_tokens + config.window_tokens
        self.max_capacity = self.limit + config.max_decode_tokens
        self._shape = (config.n_layers, config.n_kv_heads, config.d_model // config.n_heads)
        self.keys = self._alloc(min(_INITIAL_TOKENS, self.max_capacity), device)
        self.values = torch.zeros_like(self.keys)
        self.length = 0
        """Tokens currently held (sinks + window + any scratch decode tokens)."""
        self.evicted = 0
        """Tokens evicted so far over the whole session."""

    def _alloc(self, capacity: int, device: torch.device) -> Tensor:
        layers, heads, head_dim = self._shape
        return torch.zeros(layers, heads, capacity, head_dim, device=device)

    @property
    def capacity(self) -> int:
        return self.keys.shape[2]

    def reserve(self, persistent: int, scratch: int = 0) -> None:
        """Make room for `persistent` tokens that stay and `scratch` tokens dropped after the turn.

        Called once per turn before its tokens are written; evicts the oldest non-sink tokens
        first, then grows the buffers if needed.
        """
        excess = self.length + persistent - self.limit
        if excess > 0:
            start, stop = self.sink + excess, self.length
            self.keys[:, :, self.sink : stop - excess] = self.keys[:, :, start:stop].clone()
            self.values[:, :, self.sink : stop - excess] = self.values[:, :, start:stop].clone()
            self.length -= excess
            self.evicted += excess
        needed = self.length + persistent + scratch
        if needed > self.capacity:
            capacity = min(self.max_capacity, max(needed, 2 * self.capacity))
            keys, values = self._alloc(capacity, self.keys.device), self._alloc(capacity, self.keys.device)
            keys[:, :, : self.length] = self.keys[:, :, : self.length]
            values[:, :, : self.length] = self.values[:, :, : self.length]
            self.keys, self.values = keys, values

    def write(self, layer: int, keys: Tensor, values: Tensor) -> tuple[Tensor, Tensor]:
        """Store [n_kv_heads, n, head_dim] new keys/values of `layer` after the held tokens; return
        views of everything held plus the new ones. `advance(n)` commits them after the last layer."""
        end = self.length + keys.shape[1]
        self.keys[layer, :, self.length : end] = keys
        self.values[layer, :, self.length : end] = values
        return self.keys[layer, :, :end], self.values[layer, :, :end]

    def advance(self, n: int) -> None:
        self.length += n

    def truncate(self, length: int) -> None:
        """Drop everything after the first `length` tokens (the scratch decode tokens)."""
        self.length = length

    def nbytes(self) -> int:
        return self.keys.nbytes + self.values.nbytes


class SessionState:
    """Everything the model keeps for one session between micro-turns. Opaque to callers.

    Derived data: it can always be rebuilt by replaying the session's recorded turns through
    `InteractionNetwork.step` from `new_state()`.
    """

    def __init__(self, config: ModelConfig, device: torch.device) -> None:
        self.config = config
        """Config of the network that made this state; `step` refuses states of another config."""
        self.cache = KVCache(config, device)
        """The session's keys and values."""
        self.turns_seen = 0
        """Micro-turns this state has processed."""
        self.last_turn = -1
        """Index of the last processed turn; the next one must be larger."""
        self.session_key: str | None = None
        """Session bound on the first turn; later turns must carry the same key."""

    def nbytes(self) -> int:
        """Bytes of tensor memory held (the KV cache buffers)."""
        return self.cache.nbytes()

    def __repr__(self) -> str:
        return (
            f"SessionState(session_key={self.session_key!r}, turns_seen={self.turns_seen}, "
            f"tokens={self.cache.length}, evicted={self.cache.evicted}, nbytes={self.nbytes()})"
        )
