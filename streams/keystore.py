"""The key store: each session's data key, wrapped by the master key, in a folder of its own.

Layout of the store folder (never inside the archive, never on Kafka):

- `<session id>.key`: JSON `{"v": 1, "session_id", "created_ns", "master_id", "wrapped"}`, the
  data key wrapped by the master key (`schemas.encryption.wrap_data_key`, base64), mode 0600.
  Written atomically (a temporary file hard-linked into place) before the session's first
  encrypted event is produced; when two producers race, the first link wins and both use it.
- `<session id>.erased`: the tombstone `erase` leaves: `{"v": 1, "erased_ns", "reason"}`. With it
  no key is ever made again for that session, and readers say "erased" instead of "no key".

`erase` writes the tombstone, overwrites the key file with zeros, fsyncs and unlinks it. Once the
wrapped key is gone, every ciphertext of the session (Kafka, the archive, any copy) stays
ciphertext. Backups of this folder must follow the same retention, or they keep what was erased.

Retention: `sweep` erases (reason "retention") every key created longer ago than the retention.

The master key is a file holding 64 hex digits (32 bytes), mode 0600, outside the archive.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from schemas.encryption import KEY_BYTES, new_data_key, unwrap_data_key, wrap_data_key
from schemas.errors import ConfigError, PayloadError, SessionErased
from streams.key_paths import KeyState, KeyStoreError, key_file, key_state, tombstone


class KeyMissing(KeyStoreError, PayloadError):
    """No key and no tombstone for a session whose payloads are encrypted: another key store made them."""


def generate_master_key(path: Path) -> bytes:
    """Write a new random master key to `path` (0600, 64 hex digits); refuses to overwrite."""
    key = new_data_key()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise ConfigError(f"master key {path} already exists; delete it first or choose another path") from exc
    with os.fdopen(fd, "w") as out:
        out.write(key.hex() + "\n")
    return key


def load_master_key(path: Path) -> bytes:
    """The master key in `path`; ConfigError (exit 2) naming the file when it is missing or malformed."""
    try:
        text = path.read_text().strip()
    except OSError as exc:
        raise ConfigError(
            f"master key {path}: cannot read it ({exc.strerror}); `microturn up` makes one, or set "
            "MICROTURN_MASTER_KEY to a file of 64 hex digits (or MICROTURN_ENCRYPTION=off)"
        ) from exc
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise ConfigError(f"master key {path}: expected {2 * KEY_BYTES} hex digits; got {len(text)} characters")
    return key


def master_id(master_key: bytes) -> str:
    """Names a master key without revealing it: 16 hex digits of sha256 over a label and the key."""
    return hashlib.sha256(b"microturn master key id\x00" + master_key).hexdigest()[:16]


class KeyStore:
    """Wrapped data keys in `root`, one file per session; every method is safe across processes.

    Without a master key (None) it can only tell and erase (`state`, `erase`, `sweep`), never load
    or make a key.
    """

    def __init__(self, root: Path, master_key: bytes | None, clock: Callable[[], int] = time.time_ns) -> None:
        self.root = root
        self._master = master_key or b""
        self._master_id = master_id(master_key) if master_key else ""
        self._clock = clock

    def _need_master(self, session_id: str) -> bytes:
        if not self._master:
            raise KeyStoreError(f"the data key of session {session_id} needs the master key (MICROTURN_MASTER_KEY)")
        return self._master

    def _key_path(self, session_id: str) -> Path:
        return key_file(self.root, session_id)

    def _tombstone(self, session_id: str) -> Path:
        return tombstone(self.root, session_id)

    def state(self, session_id: str) -> KeyState:
        """active: the key exists; erased: a tombstone says it was destroyed; none: never made here."""
        return key_state(self.root, session_id)

    def load(self, session_id: str) -> bytes:
        """The session's data key; SessionErased after `erase`, KeyMissing when none was ever made here."""
        try:
            raw = self._key_path(session_id).read_bytes()
        except FileNotFoundError:
            if self._tombstone(session_id).exists():
                raise SessionErased(f"session {session_id} was erased: its payloads cannot be read") from None
            raise KeyMissing(
                f"no data key for session {session_id} in the key store {self.root}: its events were encrypted "
                "by a process using another key store (MICROTURN_KEY_STORE)"
            ) from None
        except OSError as exc:
            raise KeyStoreError(f"reading the data key of session {session_id}: {exc}") from exc
        if self._tombstone(session_id).exists():  # erased while the key file was being unlinked
            raise SessionErased(f"session {session_id} was erased: its payloads cannot be read")
        return self._unwrap(session_id, raw)

    def _unwrap(self, session_id: str, raw: bytes) -> bytes:
        try:
            doc = json.loads(raw)
            wrapped = base64.b64decode(doc["wrapped"], validate=True)
            owner = doc["master_id"]
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise KeyStoreError(
                f"data key file of session {session_id}: expected JSON with 'wrapped' and 'master_id'; {exc}"
            ) from exc
        if owner != self._master_id:
            raise KeyStoreError(
                f"data key of session {session_id} was wrapped by master key {owner}; this process holds "
                f"{self._master_id} (MICROTURN_MASTER_KEY)"
            )
        return unwrap_data_key(self._need_master(session_id), session_id, wrapped)

    def create_or_load(self, session_id: str) -> bytes:
        """The session's data key, made and stored first if it has none; SessionErased after `erase`."""
        try:
            return self.load(session_id)
        except KeyMissing:
            pass
        key = new_data_key()
        doc = {
            "v": 1,
            "session_id": session_id,
            "created_ns": self._clock(),
            "master_id": self._master_id,
            "wrapped": base64.b64encode(wrap_data_key(self._need_master(session_id), session_id, key)).decode(),
        }
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.root / f".tmp-{uuid.uuid4().hex}"
        try:
            _write_synced(tmp, json.dumps(doc).encode())
            try:
                os.link(tmp, self._key_path(session_id))  # atomic, and fails when another process won
            except FileExistsError:
                return self.load(session_id)
            _sync_dir(self.root)
        except OSError as exc:
            raise KeyStoreError(f"storing the data key of session {session_id} in {self.root}: {exc}") from exc
        finally:
            tmp.unlink(missing_ok=True)
        if self._tombstone(session_id).exists():  # erased while we made it: do not leave a key behind
            self.erase(session_id)
            raise SessionErased(f"session {session_id} was erased: no new payload is written for it")
        return key

    def erased_ns(self, session_id: str) -> int | None:
        """When the session's key was erased (ns since the epoch), None if it was not (or is unreadable)."""
        try:
            return int(json.loads(self._tombstone(session_id).read_bytes())["erased_ns"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def erase(self, session_id: str, reason: str = "erase") -> bool:
        """Destroy the session's key (tombstone first, then zeros, fsync, unlink); True if a key was destroyed."""
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        tomb = self._tombstone(session_id)
        try:
            if not tomb.exists():
                tmp = self.root / f".tmp-{uuid.uuid4().hex}"
                _write_synced(tmp, json.dumps({"v": 1, "erased_ns": self._clock(), "reason": reason}).encode())
                tmp.replace(tomb)
            path = self._key_path(session_id)
            try:
                size = path.stat().st_size
            except FileNotFoundError:
                _sync_dir(self.root)
                return False
            with open(path, "r+b") as out:
                out.write(b"\x00" * size)
                out.flush()
                os.fsync(out.fileno())
            path.unlink()
            _sync_dir(self.root)
        except OSError as exc:
            raise KeyStoreError(f"erasing the data key of session {session_id} in {self.root}: {exc}") from exc
        return True

    def created_ns(self, session_id: str) -> int:
        """When the session's key was made (ns since the epoch); KeyStoreError if it cannot be read."""
        try:
            return int(json.loads(self._key_path(session_id).read_bytes())["created_ns"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise KeyStoreError(f"reading the data key file of session {session_id}: {exc}") from exc

    def sweep(self, retention_s: float) -> list[str]:
        """Erase every key made more than `retention_s` ago (reason "retention"); the sessions erased."""
        limit = self._clock() - int(retention_s * 1e9)
        erased = []
        for path in sorted(self.root.glob("*.key")) if self.root.is_dir() else []:
            session_id = path.name[: -len(".key")]
            try:
                created = self.created_ns(session_id)
            except KeyStoreError:
                continue  # erased meanwhile, or unreadable: left for `erase` to name
            if created < limit and self.erase(session_id, reason="retention"):
                erased.append(session_id)
        return erased


def _write_synced(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


def _sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
