"""Exceptions of the replay package."""

from __future__ import annotations

from schemas.errors import MicroturnError


class ReplayError(MicroturnError):
    """Root of every error raised by `replay`; the message says what to do next."""
