"""Where a state dir's keys are, and what the key store says of a session, without opening a key.

`streams.keystore` owns the store's files (`<session>.key`, the `<session>.erased` tombstone) and
`streams.vault` a process's keys; both name them through here. This module imports nothing
heavy (no cryptography, no msgspec), so `query` and `report`, which only ask whether a session
was erased, start as fast as they can.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, NamedTuple

from schemas.ids import is_session_id, shown
from streams.errors import StreamsError

MASTER_KEY_ENV = "MICROTURN_MASTER_KEY"
KEY_STORE_ENV = "MICROTURN_KEY_STORE"
KEYS_DIR_ENV = "MICROTURN_KEYS_DIR"

KeyState = Literal["active", "erased", "none"]


class KeyStoreError(StreamsError):
    """The key store cannot be read or written, or holds no key for a session that was never erased."""


class KeyPaths(NamedTuple):
    """Where the master key and the key store are, for one state dir and environment."""

    master_key: Path
    """The master key file."""
    store: Path
    """The key store folder."""

    @classmethod
    def from_env(cls, state_dir: Path) -> KeyPaths:
        keys = Path(os.environ.get(KEYS_DIR_ENV) or state_dir / "keys")
        master = Path(os.environ.get(MASTER_KEY_ENV) or keys / "master.key")
        return cls(master, Path(os.environ.get(KEY_STORE_ENV) or keys / "sessions"))


def key_file(store: Path, session_id: str) -> Path:
    """The session's wrapped data key in `store`; KeyStoreError for a malformed session id."""
    return store / f"{_checked(session_id)}.key"


def tombstone(store: Path, session_id: str) -> Path:
    """The file `erase` leaves in `store` for the session."""
    return store / f"{_checked(session_id)}.erased"


def key_state(store: Path, session_id: str) -> KeyState:
    """active: the key exists; erased: a tombstone says it was destroyed; none: never made in `store`."""
    if tombstone(store, session_id).exists():
        return "erased"
    return "active" if key_file(store, session_id).exists() else "none"


_named: dict[str, Path] = {}


def use_state_dir(state_dir: Path | None) -> None:
    """Make `state_dir` this process's (a command given `--state-dir`); None forgets the one named."""
    if state_dir is None:
        _named.clear()
    else:
        _named["state_dir"] = state_dir


def state_dir() -> Path:
    """This process's state dir: the one `use_state_dir` named, else $MICROTURN_STATE_DIR or ./.microturn."""
    return _named.get("state_dir") or Path(os.environ.get("MICROTURN_STATE_DIR") or ".microturn")


def session_key_state(session_id: str) -> KeyState:
    """The session's data key in this process's key store (`KeyPaths.from_env(state_dir())`)."""
    return key_state(KeyPaths.from_env(state_dir()).store, session_id)


def _checked(session_id: str) -> str:
    if not is_session_id(session_id):
        raise KeyStoreError(
            f"key store: expected a session id of 1-128 characters from [A-Za-z0-9._:-]; got {shown(session_id, 80)}"
        )
    return session_id
