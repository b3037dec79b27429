"""Exceptions of the processors package."""

from __future__ import annotations

from schemas.errors import ConfigError, MicroturnError

__all__ = ["ConfigError", "ProcessorError"]


class ProcessorError(MicroturnError):
    """Root of every error raised by `processors`."""
