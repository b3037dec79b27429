"""Exceptions of the replay package."""

from __future__ import annotations


class ReplayError(Exception):
    """Root of every error raised by `replay`; the message says what to do next."""
