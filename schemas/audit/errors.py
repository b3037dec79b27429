"""Exceptions of the audit chain, under `schemas.errors.SchemaError`."""

from __future__ import annotations

from schemas.errors import SchemaError


class AuditChainError(SchemaError):
    """Root of the audit chain's errors: a key or a signed head that cannot be used."""


class AuditKeyError(AuditChainError):
    """The audit key is missing, unreadable or not an Ed25519 key; the message says how to make one."""


class HeadError(AuditChainError):
    """A chain head that does not decode, or whose signature does not verify with the given key."""
