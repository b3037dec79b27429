"""The reference interaction model: encoder-free early fusion over 200 ms micro-turns.

    net = load_checkpoint(path)                 # or InteractionNetwork.seeded(CONFIGS["tiny"], 0) in tests
    state = net.new_state()                     # one per session
    [out] = net.step([TurnInput(...)], [state]) # once per micro-turn, turns in order

See `network.py` for the batch-invariance guarantee and `cache.py` for the bounded context.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from inference.network.cache import SessionState
    from inference.network.checkpoint import load_checkpoint, save_checkpoint
    from inference.network.config import CONFIGS, ModelConfig
    from inference.network.errors import NetworkError
    from inference.network.network import InteractionNetwork
    from inference.network.turns import Action, TurnInput, TurnOutput

_HOME = {
    "SessionState": "cache",
    "load_checkpoint": "checkpoint",
    "save_checkpoint": "checkpoint",
    "CONFIGS": "config",
    "ModelConfig": "config",
    "NetworkError": "errors",
    "InteractionNetwork": "network",
    "Action": "turns",
    "TurnInput": "turns",
    "TurnOutput": "turns",
}


def __getattr__(name: str) -> Any:
    """Names load on first use, so `inference.network.turns` (the model input type the Triton
    client shares) and the other torch-free modules import without torch."""
    if name not in _HOME:
        raise AttributeError(f"module 'inference.network' has no attribute {name!r}")
    return getattr(importlib.import_module(f"inference.network.{_HOME[name]}"), name)


__all__ = [
    "CONFIGS",
    "Action",
    "InteractionNetwork",
    "ModelConfig",
    "NetworkError",
    "SessionState",
    "TurnInput",
    "TurnOutput",
    "load_checkpoint",
    "save_checkpoint",
]
