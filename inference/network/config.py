"""Model sizes and the constants of the micro-turn clock.

A `ModelConfig` is checked once, when it is built; everything downstream trusts it. Two named
configs ship: `tiny` (CPU, tests, a few ms per session-turn) and `base` (GPU, about 120M
parameters). Use `dataclasses.replace(CONFIGS["tiny"], window_tokens=64)` for variants.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from inference.network.errors import ConfigError
from schemas.clock import SAMPLE_RATE, TURN_MS, TURN_SAMPLES

__all__ = ["BYTE_VOCAB", "CONFIGS", "EOS", "SAMPLE_RATE", "TURN_MS", "TURN_SAMPLES", "ModelConfig"]
BYTE_VOCAB = 257
"""Byte heads predict the 256 byte values plus `EOS`."""
EOS = 256
"""Index of the end-of-text symbol in the byte heads."""


@dataclass(frozen=True)
class ModelConfig:
    """Shape and behaviour of one interaction network; part of the model digest."""

    name: str
    """Config name; the model version is `f"{name}-{digest[:12]}"`."""
    d_model: int
    """Width of the shared decoder-only transformer."""
    n_layers: int
    """Number of transformer blocks."""
    n_heads: int
    """Query heads per attention layer; `d_model` must divide evenly."""
    n_kv_heads: int
    """Key/value heads (grouped-query attention); divides `n_heads`. Sets the KV cache size."""
    ffn_dim: int
    """Hidden width of the SwiGLU feed-forward layer."""
    n_mels: int
    """Log-mel bins of the dMel audio input."""
    dmel_levels: int
    """Levels each log-mel bin is discretized to; one embedding per (bin, level)."""
    dmel_dim: int
    """Width of the per-frame dMel embedding before frames are grouped into tokens."""
    dmel_log_min: float
    """Natural-log mel power mapped to the lowest level (anything below clamps to it)."""
    dmel_log_max: float
    """Natural-log mel power mapped to the highest level (anything above clamps to it)."""
    audio_window: int
    """STFT window (and FFT size) in samples for the dMel frames."""
    audio_hop: int
    """STFT hop in samples; `TURN_SAMPLES // audio_hop` frames per turn."""
    audio_tokens: int
    """Tokens per turn of audio; the frames of a turn are grouped evenly into them."""
    video_size: int
    """Side of the square input frame in pixels, e.g. 80 for tiny, 160 for base."""
    video_patch: int
    """Side of one video patch (one token) in pixels."""
    hmlp_pixels: int
    """Side of the pixel block the hMLP stem embeds first; `video_patch // hmlp_pixels` must be a
    power of two (each later stage merges 2x2 blocks)."""
    hmlp_dim: int
    """Width of the inner hMLP stages."""
    max_text_bytes: int
    """Input text bytes kept per turn; longer text is truncated (the first bytes are kept)."""
    max_background_bytes: int
    """Background-result bytes kept per turn; longer results are truncated the same way."""
    time_features: int
    """Sine/cosine pairs of the elapsed-session-time embedding."""
    time_min_period_s: float
    """Shortest period of the elapsed-time features, in seconds."""
    time_max_period_s: float
    """Longest period of the elapsed-time features, in seconds."""
    sink_tokens: int
    """Attention sinks: the first tokens of a session, never evicted from the KV cache."""
    window_tokens: int
    """Sliding window: the most recent tokens kept besides the sinks. Bounds memory and cost."""
    max_text_out: int
    """Text bytes decoded per SPEAK/BACKCHANNEL turn (speech runs at about 3 bytes per 200 ms)."""
    max_delegate_out: int
    """Delegation bytes decoded per DELEGATE turn."""
    text_temperature: float
    """Sampling temperature of the byte heads; 0 means greedy."""
    out_bands: int
    """Mel bands of the audio the flow head produces."""
    out_frames: int
    """Mel frames per turn the flow head produces (must divide `TURN_SAMPLES`)."""
    flow_dim: int
    """Width of the flow-matching velocity network."""
    flow_steps: int
    """Euler steps from seeded noise to mel frames."""
    norm_eps: float = 1e-5
    """Epsilon of every RMSNorm."""

    def __post_init__(self) -> None:
        positive = [f.name for f in dataclasses.fields(self) if f.type in ("int", "float")]
        for field in positive:
            if getattr(self, field) <= 0 and field not in ("dmel_log_min", "text_temperature"):
                _fail(field, "a positive value", getattr(self, field))
        _require(self.d_model % self.n_heads == 0, "n_heads", f"a divisor of d_model={self.d_model}", self.n_heads)
        _require(
            self.n_heads % self.n_kv_heads == 0, "n_kv_heads", f"a divisor of n_heads={self.n_heads}", self.n_kv_heads
        )
        _require(self.dmel_levels >= 2, "dmel_levels", "at least 2", self.dmel_levels)
        _require(
            self.dmel_log_max > self.dmel_log_min,
            "dmel_log_max",
            f"> dmel_log_min={self.dmel_log_min}",
            self.dmel_log_max,
        )
        _require(
            self.audio_window >= self.audio_hop, "audio_window", f">= audio_hop={self.audio_hop}", self.audio_window
        )
        _require(TURN_SAMPLES % self.audio_hop == 0, "audio_hop", f"a divisor of {TURN_SAMPLES}", self.audio_hop)
        frames = TURN_SAMPLES // self.audio_hop
        _require(frames % self.audio_tokens == 0, "audio_tokens", f"a divisor of {frames} frames", self.audio_tokens)
        _require(
            self.video_size % self.video_patch == 0,
            "video_size",
            f"a multiple of video_patch={self.video_patch}",
            self.video_size,
        )
        ratio, rest = divmod(self.video_patch, self.hmlp_pixels)
        _require(
            rest == 0 and ratio >= 2 and ratio & (ratio - 1) == 0,
            "hmlp_pixels",
            f"video_patch={self.video_patch} / a power of two >= 2",
            self.hmlp_pixels,
        )
        _require(TURN_SAMPLES % self.out_frames == 0, "out_frames", f"a divisor of {TURN_SAMPLES}", self.out_frames)
        _require(self.text_temperature >= 0, "text_temperature", "a value >= 0", self.text_temperature)
        _require(
            self.time_max_period_s > self.time_min_period_s,
            "time_max_period_s",
            f"> time_min_period_s={self.time_min_period_s}",
            self.time_max_period_s,
        )
        _require(
            self.window_tokens >= self.max_turn_tokens,
            "window_tokens",
            f">= the largest turn ({self.max_turn_tokens} tokens)",
            self.window_tokens,
        )

    @property
    def max_turn_tokens(self) -> int:
        """Most tokens one turn can add to the context (all inputs present, inputs at their caps)."""
        return self.audio_tokens + self.video_tokens + self.max_text_bytes + self.max_background_bytes + 1

    @property
    def video_tokens(self) -> int:
        """Tokens of one video frame: one per patch."""
        return (self.video_size // self.video_patch) ** 2

    @property
    def max_decode_tokens(self) -> int:
        """Scratch tokens a turn's decode may append to the cache (dropped after the turn)."""
        return max(self.max_text_out, self.max_delegate_out)

    def to_json(self) -> str:
        """Canonical JSON (sorted keys, no spaces): the form hashed into the digest."""
        return json.dumps(dataclasses.asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelConfig:
        """Rebuild a config from `dataclasses.asdict` output, e.g. out of a checkpoint."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"ModelConfig: expected fields {sorted(known)}, got unknown {unknown}")
        try:
            return cls(**data)
        except TypeError as exc:
            raise ConfigError(f"ModelConfig: cannot build from {dict(data)!r}: {exc}") from exc


def _require(ok: bool, field: str, expected: str, got: object) -> None:
    if not ok:
        _fail(field, expected, got)


def _fail(field: str, expected: str, got: object) -> None:
    raise ConfigError(f"ModelConfig.{field}: expected {expected}, got {got!r}")


_TINY = ModelConfig(
    name="tiny",
    d_model=64,
    n_layers=2,
    n_heads=4,
    n_kv_heads=4,
    ffn_dim=128,
    n_mels=32,
    dmel_levels=8,
    dmel_dim=32,
    dmel_log_min=-10.0,
    dmel_log_max=6.0,
    audio_window=320,
    audio_hop=160,
    audio_tokens=2,
    video_size=80,
    video_patch=40,
    hmlp_pixels=5,
    hmlp_dim=32,
    max_text_bytes=16,
    max_background_bytes=32,
    time_features=8,
    time_min_period_s=0.4,
    time_max_period_s=14_400.0,
    sink_tokens=4,
    window_tokens=512,
    max_text_out=4,
    max_delegate_out=16,
    text_temperature=0.7,
    out_bands=16,
    out_frames=10,
    flow_dim=64,
    flow_steps=4,
)
_BASE = ModelConfig(
    name="base",
    d_model=768,
    n_layers=14,
    n_heads=12,
    n_kv_heads=4,
    ffn_dim=2560,
    n_mels=80,
    dmel_levels=16,
    dmel_dim=128,
    dmel_log_min=-10.0,
    dmel_log_max=6.0,
    audio_window=400,
    audio_hop=160,
    audio_tokens=4,
    video_size=160,
    video_patch=40,
    hmlp_pixels=5,
    hmlp_dim=192,
    max_text_bytes=64,
    max_background_bytes=256,
    time_features=32,
    time_min_period_s=0.4,
    time_max_period_s=14_400.0,
    sink_tokens=16,
    window_tokens=4096,
    max_text_out=8,
    max_delegate_out=128,
    text_temperature=0.7,
    out_bands=80,
    out_frames=20,
    flow_dim=512,
    flow_steps=8,
)

CONFIGS: Mapping[str, ModelConfig] = MappingProxyType({"tiny": _TINY, "base": _BASE})
"""The shipped configs by name."""
