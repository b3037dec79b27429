"""Ed25519 audit keys: made by `microturn audit keygen`, named by MICROTURN_AUDIT_KEY or `--key`.

The private key (PEM, PKCS#8, mode 0600) signs chain heads in the archiver; the public key (PEM,
beside it as `<name>.pub`) is all a verifier needs, and is given to it separately
(`audit verify --public-key`, or pinned with MICROTURN_AUDIT_PUBLIC_KEY). Keep the private key out
of the archive and off the machines whose users may write it: whoever can read it can sign a
rewritten chain. By default it lives in a keys folder of its own, `<state dir>/keys`
(MICROTURN_KEYS_DIR), never under the archive root (the archiver refuses that).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from schemas.audit.errors import AuditKeyError

KEY_ENV = "MICROTURN_AUDIT_KEY"
"""Environment variable naming the private key file."""
KEYS_DIR_ENV = "MICROTURN_KEYS_DIR"
"""Environment variable naming the folder of the private key (when MICROTURN_AUDIT_KEY is unset)."""
PUBLIC_KEY_ENV = "MICROTURN_AUDIT_PUBLIC_KEY"
"""Environment variable pinning the public key a verifier checks heads with."""


def default_key_path(state_dir: Path) -> Path:
    """$MICROTURN_AUDIT_KEY, else `audit.key` in $MICROTURN_KEYS_DIR, else in `<state_dir>/keys`."""
    if os.environ.get(KEY_ENV):
        return Path(os.environ[KEY_ENV])
    if os.environ.get(KEYS_DIR_ENV):
        return Path(os.environ[KEYS_DIR_ENV]) / "audit.key"
    return state_dir / "keys" / "audit.key"


def _key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


@dataclass(frozen=True)
class VerifyKey:
    """A public key that checks chain-head signatures."""

    public: Ed25519PublicKey
    """The Ed25519 public key."""

    @property
    def key_id(self) -> str:
        """First 16 hex digits of sha256(raw public key); recorded in every signed head."""
        return _key_id(self.public)

    def verifies(self, signature: bytes, data: bytes) -> bool:
        """Whether `signature` is this key's signature of `data`."""
        try:
            self.public.verify(signature, data)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class SigningKey(VerifyKey):
    """A private key that signs chain heads (and verifies them)."""

    private: Ed25519PrivateKey
    """The Ed25519 private key."""

    def sign(self, data: bytes) -> bytes:
        """The Ed25519 signature of `data` (deterministic: the same data gives the same signature)."""
        return self.private.sign(data)


def generate_key(path: Path) -> SigningKey:
    """Write a new private key to `path` (0600) and its public key to `path` + ".pub"; refuses to overwrite."""
    if path.exists():
        raise AuditKeyError(f"audit keygen: {path} already exists; delete it first or choose another path")
    private = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    Path(f"{path}.pub").write_bytes(public_pem)
    return SigningKey(private.public_key(), private)


def load_signing_key(path: Path, create: bool = False) -> SigningKey:
    """The private key at `path`; with `create`, a new one is generated there if it is missing."""
    if create and not path.exists():
        return generate_key(path)
    try:
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise AuditKeyError(
            f"loading the audit signing key {path}: expected an Ed25519 private key in PEM; "
            f"{exc}. Make one with `microturn audit keygen --key {path}`"
        ) from exc
    if not isinstance(private, Ed25519PrivateKey):
        raise AuditKeyError(f"loading the audit signing key {path}: expected Ed25519; got {type(private).__name__}")
    return SigningKey(private.public_key(), private)


def load_public_key(path: Path) -> VerifyKey:
    """The public key in `path`; AuditKeyError for a private key (a verifier is never handed one)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AuditKeyError(f"reading the audit public key {path}: {exc}") from exc
    if b"PRIVATE KEY" in data:
        raise AuditKeyError(
            f"{path}: expected a public key (PEM 'PUBLIC KEY'); got a private key. Give the verifier "
            "only the `.pub` file that `audit keygen` wrote beside it"
        )
    return load_verify_key(path)


def load_verify_key(path: Path) -> VerifyKey:
    """The public key in `path`: a public PEM, or a private PEM whose public half is used."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AuditKeyError(f"reading the audit key {path}: {exc}; pass --key or set {KEY_ENV}") from exc
    if b"PRIVATE KEY" in data:
        return load_signing_key(path)
    try:
        public = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise AuditKeyError(f"loading the audit key {path}: expected an Ed25519 key in PEM; {exc}") from exc
    if not isinstance(public, Ed25519PublicKey):
        raise AuditKeyError(f"loading the audit key {path}: expected Ed25519; got {type(public).__name__}")
    return VerifyKey(public)
