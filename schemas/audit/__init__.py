"""The per-session audit hash chain over events, its signed heads and the keys that sign them.

The archiver appends and seals (`processors.archiver`); the verifier reads (`replay.audit`).
"""

from schemas.audit.chain import ANCHOR_EVERY, GENESIS, Appended, Chain, digest, link
from schemas.audit.errors import AuditChainError, AuditKeyError, HeadError
from schemas.audit.head_log import HeadRecord, latest_heads
from schemas.audit.heads import ChainHead, check, decode_head, encode_head, seal
from schemas.audit.keys import (
    KEY_ENV,
    SigningKey,
    VerifyKey,
    default_key_path,
    generate_key,
    load_signing_key,
    load_verify_key,
)

__all__ = [
    "ANCHOR_EVERY",
    "GENESIS",
    "KEY_ENV",
    "Appended",
    "AuditChainError",
    "AuditKeyError",
    "Chain",
    "ChainHead",
    "HeadError",
    "HeadRecord",
    "SigningKey",
    "VerifyKey",
    "check",
    "decode_head",
    "default_key_path",
    "digest",
    "encode_head",
    "generate_key",
    "latest_heads",
    "link",
    "load_signing_key",
    "load_verify_key",
    "seal",
]
