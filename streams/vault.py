"""The one way a process encrypts and opens payloads: a key store and a short-lived key cache.

Every producer encrypts through `Vault.encrypt` just before encoding (`streams.producer`, the
workers' sends); every reader that needs plaintext opens through `Vault.open` right after
decoding (the log reader, the output tailer, the workers, replay). The archiver does neither for
what it stores: it keeps the ciphertext as it came off the wire.

Settings, read once by `from_env` (a process calls `configure()` at start-up; ConfigError, exit 2,
when they are wrong):

- MICROTURN_ENCRYPTION: `on` (encrypt; the master key must load), `off` (encrypt nothing, still
  open what is encrypted when the master key is there), unset: on exactly when the master key file
  exists. `microturn up` makes the master key, so a stack brought up is encrypted by default.
- MICROTURN_MASTER_KEY: the master key file; default `master.key` in the keys folder
  ($MICROTURN_KEYS_DIR, else `<state dir>/keys`, the audit key's folder, apart from the archive).
- MICROTURN_KEY_STORE: the wrapped data keys; default `sessions/` in the keys folder. Every
  process of a deployment must see the same store (a shared folder).
- MICROTURN_KEY_CACHE_S: how long a process keeps a session's unwrapped key (default 30 s; a
  session's `SessionEnded` drops it at once). An erase takes effect everywhere within that time.
- MICROTURN_KEY_RETENTION_DAYS: keys older than this are erased by `microturn erase --expired`
  and by `microturn up` (default 365).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from schemas.encryption import PAYLOAD_FIELDS, SessionCipher
from schemas.envelope import Event
from schemas.errors import ConfigError
from schemas.events import SessionEnded
from streams import key_paths
from streams.key_paths import MASTER_KEY_ENV, KeyPaths, KeyState
from streams.keystore import KeyMissing, KeyStore, load_master_key

E = TypeVar("E", bound=Event)

ENCRYPTION_ENV = "MICROTURN_ENCRYPTION"
CACHE_ENV = "MICROTURN_KEY_CACHE_S"
RETENTION_ENV = "MICROTURN_KEY_RETENTION_DAYS"
DEFAULT_CACHE_S = 30.0
DEFAULT_RETENTION_DAYS = 365.0


class Vault:
    """Encrypts and opens one process's events; without a store, a pass-through that cannot open."""

    def __init__(
        self,
        store: KeyStore | None,
        encrypting: bool,
        cache_s: float = DEFAULT_CACHE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if encrypting and store is None:
            raise ConfigError("encryption: encrypting needs a key store and a master key")
        self.store = store
        self.encrypting = encrypting
        self._cache_s = cache_s
        self._clock = clock
        self._ciphers: dict[str, tuple[SessionCipher, float]] = {}

    def _cipher(self, session_id: str, create: bool) -> SessionCipher:
        cached = self._ciphers.get(session_id)
        now = self._clock()
        if cached is not None and cached[1] > now:
            return cached[0]
        if self.store is None:
            raise KeyMissing(
                f"session {session_id} is encrypted and this process holds no master key: set "
                "MICROTURN_MASTER_KEY (or run in the state dir `microturn up` made)"
            )
        key = self.store.create_or_load(session_id) if create else self.store.load(session_id)
        cipher = SessionCipher(session_id, key)
        self._ciphers[session_id] = (cipher, now + self._cache_s)
        if len(self._ciphers) > 4096:  # drop expired entries now and then; live sessions reload in cache_s
            self._ciphers = {s: c for s, c in self._ciphers.items() if c[1] > now}
        return cipher

    def encrypt(self, event: E) -> E:
        """`event` as it goes on the wire: payload encrypted (the session's key made on first use)
        when encrypting; SessionErased for a session erased meanwhile."""
        if not self.encrypting or type(event) not in PAYLOAD_FIELDS or event.encrypted:
            if isinstance(event, SessionEnded):
                self.forget(event.session_id)
            return event
        return self._cipher(event.session_id, create=True).encrypt(event)

    def open(self, event: E) -> E:
        """`event` with its payload in the clear (as it is when not encrypted); SessionErased,
        KeyMissing, or PayloadError (altered or moved ciphertext) when it cannot be opened."""
        if isinstance(event, SessionEnded):
            self.forget(event.session_id)
            return event
        if not event.encrypted:
            return event
        return self._cipher(event.session_id, create=False).open(event)

    def open_fields(self, kind: type[Event], session_id: str, event_id: str, data: bytes) -> dict[str, Any]:
        """The payload fields of an encrypted value read without its event (an archive cell)."""
        return self._cipher(session_id, create=False).open_fields(kind, event_id, data)

    def key_state(self, session_id: str) -> KeyState:
        """active / erased / none (`KeyStore.state`); none when this process has no key store."""
        return self.store.state(session_id) if self.store is not None else "none"

    def forget(self, session_id: str) -> None:
        """Drop the session's key from the cache (its next use reads the key store again)."""
        self._ciphers.pop(session_id, None)

    @classmethod
    def from_env(cls, state_dir: Path) -> Vault:
        """The vault the environment configures for `state_dir` (see the module); ConfigError when wrong."""
        paths = KeyPaths.from_env(state_dir)
        mode = os.environ.get(ENCRYPTION_ENV, "").strip().lower()
        if mode not in ("", "on", "off"):
            raise ConfigError(f"{ENCRYPTION_ENV}: expected 'on' or 'off'; got {mode!r}")
        cache_s = _seconds(CACHE_ENV, DEFAULT_CACHE_S)
        if mode == "on" or os.environ.get(MASTER_KEY_ENV) or paths.master_key.exists():
            store = KeyStore(paths.store, load_master_key(paths.master_key))
            return cls(store, encrypting=mode != "off", cache_s=cache_s)
        return cls(None, encrypting=False, cache_s=cache_s)


def retention_s() -> float:
    """$MICROTURN_KEY_RETENTION_DAYS in seconds (default 365 days); ConfigError when malformed."""
    return _seconds(RETENTION_ENV, DEFAULT_RETENTION_DAYS) * 86400.0


def _seconds(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise ConfigError(f"{name}: expected a positive number; got {raw!r}")
    return value


_process: dict[str, Any] = {}
"""This process's vault under "vault"; under "for", the state dir it was configured for (absent when
a caller handed it over with `use`)."""


def configure() -> Vault:
    """Build this process's vault from the environment (at start-up: ConfigError, exit 2, when wrong)
    for its state dir (`key_paths.state_dir()`: the one a command named, else $MICROTURN_STATE_DIR or
    ./.microturn)."""
    state_dir = key_paths.state_dir()
    vault: Vault = Vault.from_env(state_dir)
    _process.update(vault=vault, **{"for": state_dir})
    return vault


def use(vault: Vault | None) -> None:
    """Make `vault` this process's vault (None: configure from the environment on next use, for the
    default state dir)."""
    _process.clear()
    if vault is None:
        key_paths.use_state_dir(None)
    else:
        _process["vault"] = vault


def current() -> Vault:
    """This process's vault: the one handed over with `use`, else the one configured for the process's
    state dir, configured from the environment on first use (or when the state dir was changed)."""
    vault: Vault | None = _process.get("vault")
    if vault is not None and _process.get("for", key_paths.state_dir()) == key_paths.state_dir():
        return vault
    return configure()
