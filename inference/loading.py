"""Building the interaction network from the model repository's parameters.

Triton's model.py and offline replay both call `load_network`, so a replay runs exactly the
weights the server ran: the same checkpoint, or the same seeded config. The environment
(MICROTURN_MODEL_<KEY>) overrides config.pbtxt, on the server and offline alike.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from inference.network import CONFIGS, InteractionNetwork, load_checkpoint

REPOSITORY = Path(__file__).resolve().parent / "model_repository"
MODEL_DIR = REPOSITORY / "interaction"
_PARAM = re.compile(r'\{\s*key:\s*"(\w+)"\s*value:\s*\{\s*string_value:\s*"([^"]*)"\s*\}\s*\}')


def repository_params(model_dir: Path = MODEL_DIR) -> dict[str, str]:
    """The `parameters` of config.pbtxt, with MICROTURN_MODEL_<KEY> overrides applied."""
    params = dict(_PARAM.findall((model_dir / "config.pbtxt").read_text()))
    return with_env(params)


def with_env(params: Mapping[str, str]) -> dict[str, str]:
    """`params` with MICROTURN_MODEL_<KEY> environment overrides applied."""
    merged = dict(params)
    for key in list(merged):
        env = os.environ.get(f"MICROTURN_MODEL_{key.upper()}")
        if env is not None:
            merged[key] = env
    return merged


def load_network(params: Mapping[str, str], model_dir: Path = MODEL_DIR) -> InteractionNetwork:
    """The network the parameters describe: a checkpoint (relative to `model_dir`) or a seeded config."""
    checkpoint = params.get("checkpoint", "")
    if checkpoint:
        path = Path(checkpoint)
        return load_checkpoint(path if path.is_absolute() else model_dir / path)
    return InteractionNetwork.seeded(CONFIGS[params.get("config") or "tiny"], int(params.get("seed") or "0"))
