"""Which models a session may select: plain constants, importable without Triton's client (the CLI's
`--help` and argument parsing use them)."""

from __future__ import annotations

MODEL = "interaction"
"""The model a session runs on unless its SessionStarted.metadata["model"] names another."""
MODELS = ("interaction", "harness")
"""The models of the repository a session may select (same Triton contract)."""
SESSION_MODEL_KEY = "model"
"""The SessionStarted.metadata key that selects a session's model (one of `MODELS`)."""
