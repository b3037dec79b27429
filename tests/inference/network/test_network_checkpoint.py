"""Checkpoints round-trip and the digest identifies config and weights."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from inference.network import CONFIGS, InteractionNetwork, NetworkError, load_checkpoint, save_checkpoint
from inference.network.errors import CheckpointError


def test_round_trip_preserves_digest_and_weights(tiny: InteractionNetwork, tmp_path: Path) -> None:
    save_checkpoint(tiny, tmp_path / "tiny.pt")
    loaded = load_checkpoint(tmp_path / "tiny.pt")
    assert loaded.digest == tiny.digest and loaded.version == tiny.version
    assert loaded.config == tiny.config
    for name, tensor in tiny.state_dict().items():
        assert torch.equal(tensor, loaded.state_dict()[name]), name


def test_digest_changes_with_weights_and_with_config(tiny: InteractionNetwork) -> None:
    other_seed = InteractionNetwork.seeded(CONFIGS["tiny"], seed=1)
    assert other_seed.digest != tiny.digest
    nudged = InteractionNetwork(tiny.config)
    nudged.load_state_dict(tiny.state_dict())
    assert nudged.digest == tiny.digest
    nudged = InteractionNetwork(tiny.config)
    state = tiny.state_dict()
    state["decoder.norm.weight"] = state["decoder.norm.weight"].clone()
    state["decoder.norm.weight"][0] += 1e-6
    nudged.load_state_dict(state)
    assert nudged.digest != tiny.digest
    greedy = InteractionNetwork(dataclasses.replace(tiny.config, text_temperature=0.0))
    greedy.load_state_dict(tiny.state_dict())
    assert greedy.digest != tiny.digest


def test_seeded_init_is_reproducible() -> None:
    assert InteractionNetwork.seeded(CONFIGS["tiny"], 3).digest == InteractionNetwork.seeded(CONFIGS["tiny"], 3).digest


def test_a_tampered_checkpoint_is_refused(tiny: InteractionNetwork, tmp_path: Path) -> None:
    save_checkpoint(tiny, tmp_path / "tiny.pt")
    payload = torch.load(tmp_path / "tiny.pt", weights_only=True)
    payload["state_dict"]["action.proj.bias"] = payload["state_dict"]["action.proj.bias"] + 1.0
    torch.save(payload, tmp_path / "edited.pt")
    with pytest.raises(CheckpointError, match="expected digest"):
        load_checkpoint(tmp_path / "edited.pt")


def test_unreadable_files_raise_checkpoint_error(tmp_path: Path) -> None:
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / "junk.pt")
    with pytest.raises(NetworkError):
        load_checkpoint(tmp_path / "missing.pt")
    torch.save({"format": "something else"}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="expected format"):
        load_checkpoint(tmp_path / "other.pt")
