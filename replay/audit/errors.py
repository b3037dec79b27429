"""Exceptions of the audit, under `replay.errors.ReplayError`."""

from __future__ import annotations

from replay.errors import ReplayError


class AuditError(ReplayError):
    """Root of the audit's errors: the audit could not be carried out (a finding is not an error)."""


class AuditKeyError(AuditError):
    """The audit key is missing, unreadable or not an Ed25519 key; the message says how to make one."""


class HeadError(AuditError):
    """No signed chain head for the session, or its signature does not verify with the given key."""
