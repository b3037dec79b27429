"""Exceptions of `replay.evaluation`."""

from __future__ import annotations

from replay.errors import ReplayError


class EvaluationError(ReplayError):
    """A session could not be evaluated (no audio, no outputs, unknown model)."""


class LabelError(EvaluationError):
    """A turn-taking labels document is malformed; the message names the field and what arrived."""
