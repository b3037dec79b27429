"""Exceptions of the archiver, under `processors.errors.ProcessorError`."""

from __future__ import annotations

from processors.errors import ProcessorError


class ArchiveError(ProcessorError):
    """Root of the archiver's errors; the message names the step, the path or topic, and what to do."""


class ArchiveLayoutError(ArchiveError):
    """An event type cannot be mapped to an Arrow column type (a schemas change the archiver lacks)."""


class ArchiveLockedError(ArchiveError):
    """Another archiver already owns this archive root; one archiver per root."""


class SyncTimeout(ArchiveError):
    """`archive sync` gave up before the archiver's committed offsets reached the end offsets."""
