"""Configs are checked once, when built, and survive a trip through a plain dict."""

from __future__ import annotations

import dataclasses

import pytest

from inference.network import CONFIGS, ModelConfig
from inference.network.errors import ConfigError


def test_shipped_configs_round_trip_through_a_dict() -> None:
    assert set(CONFIGS) == {"tiny", "base"}
    for name, config in CONFIGS.items():
        assert config.name == name
        assert ModelConfig.from_dict(dataclasses.asdict(config)) == config
    assert (CONFIGS["tiny"].video_size, CONFIGS["base"].video_size) == (80, 160)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"d_model": 0}, r"ModelConfig.d_model: expected a positive value, got 0"),
        ({"n_heads": 5}, r"ModelConfig.n_heads: expected a divisor of d_model=64, got 5"),
        ({"audio_tokens": 3}, r"ModelConfig.audio_tokens: expected a divisor of 20 frames, got 3"),
        ({"hmlp_pixels": 8}, r"ModelConfig.hmlp_pixels: expected video_patch=40 / a power of two"),
        ({"video_size": 100}, r"ModelConfig.video_size: expected a multiple of video_patch=40, got 100"),
        ({"window_tokens": 20}, r"ModelConfig.window_tokens: expected >= the largest turn \(55 tokens\), got 20"),
        ({"text_temperature": -1.0}, r"ModelConfig.text_temperature: expected a value >= 0, got -1.0"),
    ],
)
def test_inconsistent_values_are_refused(change: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        dataclasses.replace(CONFIGS["tiny"], **change)  # type: ignore[arg-type]


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"got unknown \['colour'\]"):
        ModelConfig.from_dict({**dataclasses.asdict(CONFIGS["tiny"]), "colour": "blue"})
