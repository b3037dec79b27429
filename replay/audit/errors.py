"""Exceptions of the audit verifier, under `replay.errors.ReplayError`."""

from __future__ import annotations

from replay.errors import ReplayError


class AuditError(ReplayError):
    """Root of the verifier's errors: the audit could not be carried out (a finding is not an error)."""


class HeadError(AuditError):
    """No signed chain head for the session, or none that verifies with the given key."""
