"""Compliance audit: per-session hash chains over the archive, signed heads, verification."""

from replay.audit.errors import AuditError
from replay.audit.heads import ChainHead
from replay.audit.keys import default_key_path, generate_key, load_signing_key, load_verify_key
from replay.audit.verify import Finding, Verdict, verify_session

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
