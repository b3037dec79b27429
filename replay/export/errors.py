"""Exceptions of `replay.export`."""

from __future__ import annotations

from replay.errors import ReplayError


class ExportError(ReplayError):
    """A recording could not be written as asked (unknown format, unwritable path, missing encoder)."""
