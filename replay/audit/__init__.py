"""Compliance audit: verifying the archive against the signed hash chains (`schemas.audit`)."""

from replay.audit.errors import AuditError
from replay.audit.verify import Finding, Verdict, verify_session
from schemas.audit import ChainHead, default_key_path, generate_key, load_signing_key, load_verify_key

__all__ = [
    "AuditError",
    "ChainHead",
    "Finding",
    "Verdict",
    "default_key_path",
    "generate_key",
    "load_signing_key",
    "load_verify_key",
    "verify_session",
]
