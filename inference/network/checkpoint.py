"""Checkpoints and the digest that names a model version.

A checkpoint is one `torch.save` file holding a plain dict: format tag, the config as a dict, the
state dict, and the digest of both. It is read back with `weights_only=True` (no pickled code runs)
and the digest is recomputed and compared, so a corrupted or edited file fails at load time instead
of producing a different model under the same version string.

Digest: sha256 over the config's canonical JSON, then for every tensor of the state dict in sorted
name order a header line "name dtype shape nbytes" followed by the tensor's raw bytes. Same config
and bitwise-same weights give the same digest in any process, on any device.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import Tensor

from inference.network.config import ModelConfig
from inference.network.errors import CheckpointError, NetworkError
from inference.network.network import InteractionNetwork

FORMAT = "microturn.interaction-network/1"
"""Format tag stored in and required of every checkpoint."""


def weights_digest(config: ModelConfig, state_dict: Mapping[str, Tensor]) -> str:
    """Hex sha256 of the config and all tensors (see module docstring)."""
    digest = hashlib.sha256()
    digest.update(config.to_json().encode())
    for name in sorted(state_dict):
        tensor = state_dict[name].detach().to("cpu").contiguous().reshape(-1)
        header = f"\n{name} {tensor.dtype} {list(state_dict[name].shape)} {tensor.nbytes}\n"
        digest.update(header.encode())
        digest.update(tensor.view(torch.uint8).numpy().data)
    return digest.hexdigest()


def save_checkpoint(net: InteractionNetwork, path: Path) -> None:
    """Write `net`'s config, weights and digest to `path` (parent folder must exist)."""
    state = {name: tensor.detach().to("cpu") for name, tensor in net.state_dict().items()}
    payload = {"format": FORMAT, "config": dataclasses.asdict(net.config), "state_dict": state, "digest": net.digest}
    try:
        torch.save(payload, Path(path))
    except OSError as exc:
        raise CheckpointError(f"save_checkpoint: cannot write {path}: {exc}") from exc


def load_checkpoint(path: Path) -> InteractionNetwork:
    """Read a checkpoint written by `save_checkpoint`; the model is on the CPU, in eval mode."""
    try:
        payload = torch.load(Path(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch.load raises many foreign types (pickle, zip, OS); all mean "unreadable"
        raise CheckpointError(f"load_checkpoint: cannot read {path}: {exc}") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise CheckpointError(f"load_checkpoint: {path}: expected format {FORMAT!r}, got {found!r}")
    try:
        net = InteractionNetwork(ModelConfig.from_dict(payload["config"]))
        net.load_state_dict(payload["state_dict"], strict=True)
    except (KeyError, RuntimeError, NetworkError) as exc:
        raise CheckpointError(f"load_checkpoint: {path}: weights do not fit the config: {exc}") from exc
    if net.digest != payload.get("digest"):
        raise CheckpointError(
            f"load_checkpoint: {path}: expected digest {payload.get('digest')}, weights hash to {net.digest}"
        )
    return net.eval()
