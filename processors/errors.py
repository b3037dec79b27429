"""Exceptions of the processors package."""

from __future__ import annotations


class ProcessorError(Exception):
    """Root of every error raised by `processors`."""


class ConfigError(ProcessorError):
    """A worker setting is missing or invalid; the message says which and how to set it."""
