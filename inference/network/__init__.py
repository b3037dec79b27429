"""The reference interaction model: encoder-free early fusion over 200 ms micro-turns.

    net = load_checkpoint(path)                 # or InteractionNetwork.seeded(CONFIGS["tiny"], 0) in tests
    state = net.new_state()                     # one per session
    [out] = net.step([TurnInput(...)], [state]) # once per micro-turn, turns in order

See `network.py` for the batch-invariance guarantee and `cache.py` for the bounded context.
"""

from inference.network.cache import SessionState
from inference.network.checkpoint import load_checkpoint, save_checkpoint
from inference.network.config import CONFIGS, ModelConfig
from inference.network.errors import NetworkError
from inference.network.network import InteractionNetwork
from inference.network.turns import Action, TurnInput, TurnOutput

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
