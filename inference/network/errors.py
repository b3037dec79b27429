"""Exceptions of the interaction network package.

Every error the package raises on purpose derives from `NetworkError`. Callers that serve the model
(the Triton python backend) catch `InputError` per request and report it for that request only; a
`StateError` means the caller mixed up sessions or turn order and the session should be rebuilt by
replaying its recorded turns; `CheckpointError` and `ConfigError` (a `ModelConfig` value out of
range or inconsistent, the project's one `ConfigError`) are raised at load time, never on the hot
path. The package's one import from outside is the project's exception root.
"""

from __future__ import annotations

from schemas.errors import ConfigError, MicroturnError

__all__ = ["CheckpointError", "ConfigError", "InputError", "NetworkError", "StateError"]


class NetworkError(MicroturnError):
    """Root of every error raised by `inference.network`."""


class InputError(NetworkError):
    """A `TurnInput` field has the wrong type, dtype or shape.

    Raised by `TurnInput(...)` itself or by `InteractionNetwork.step` before any session state is
    touched, so a rejected batch leaves every session as it was. The message names the field, what
    was expected and what arrived.
    """


class StateError(NetworkError):
    """A `SessionState` was used with another model, another session, out of turn order, or twice
    in one batch. The state is left unchanged."""


class CheckpointError(NetworkError):
    """A checkpoint file cannot be read, is not a microturn interaction network checkpoint, or its
    weights do not match the digest recorded in it."""
