"""The per-session audit hash chain over events, its signed heads and the keys that sign them.

The archiver appends and seals (`processors.archiver`); the verifier reads (`replay.audit`).
"""

from schemas.audit.chain import ANCHOR_EVERY, GENESIS, Appended, Chain, digest, link
from schemas.audit.errors import AuditChainError, AuditKeyError, HeadError
from schemas.audit.head_log import HeadProblem, HeadRecord, SessionHeads, walk_heads
from schemas.audit.heads import ChainHead, check, decode_head, encode_head, seal
from schemas.audit.keys import (
    KEY_ENV,
    KEYS_DIR_ENV,
    PUBLIC_KEY_ENV,
    SigningKey,
    VerifyKey,
    default_key_path,
    generate_key,
    load_public_key,
    load_signing_key,
    load_verify_key,
)

__all__ = [
    "ANCHOR_EVERY",
    "GENESIS",
    "KEYS_DIR_ENV",
    "KEY_ENV",
    "PUBLIC_KEY_ENV",
    "Appended",
    "AuditChainError",
    "AuditKeyError",
    "Chain",
    "ChainHead",
    "HeadError",
    "HeadProblem",
    "HeadRecord",
    "SessionHeads",
    "SigningKey",
    "VerifyKey",
    "check",
    "decode_head",
    "default_key_path",
    "digest",
    "encode_head",
    "generate_key",
    "link",
    "load_public_key",
    "load_signing_key",
    "load_verify_key",
    "seal",
    "walk_heads",
]
