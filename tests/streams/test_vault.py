"""The vault: one process's encrypt/open, its key cache and how erasure reaches it; settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas import SessionEnded, TextEvent
from schemas.encryption import new_data_key
from schemas.errors import ConfigError, SessionErased
from streams.keystore import KeyMissing, KeyStore, generate_master_key
from streams.vault import Vault


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def text(seq: int, session_id: str = "call-1") -> TextEvent:
    return TextEvent(
        event_id=f"{session_id}/text/{seq}", session_id=session_id, seq=seq, event_time_ms=0, text=f"line {seq}"
    )


def test_encrypt_makes_the_key_first_and_another_process_opens(tmp_path: Path) -> None:
    master = new_data_key()
    producer = Vault(KeyStore(tmp_path, master), encrypting=True)
    sealed = producer.encrypt(text(0))
    assert sealed.text == "" and sealed.encrypted
    assert (tmp_path / "call-1.key").exists()
    reader = Vault(KeyStore(tmp_path, master), encrypting=False)
    assert reader.open(sealed) == text(0)
    assert reader.encrypt(text(1)) == text(1)  # not encrypting: as it is


def test_erasure_reaches_a_process_within_its_cache_time(tmp_path: Path) -> None:
    master, clock = new_data_key(), Clock()
    vault = Vault(KeyStore(tmp_path, master), encrypting=True, cache_s=30.0, clock=clock)
    sealed = vault.encrypt(text(0))
    KeyStore(tmp_path, None).erase("call-1")  # `microturn erase` in another process
    assert vault.open(sealed) == text(0)  # the cached key, for at most cache_s
    clock.now += 31.0
    with pytest.raises(SessionErased):
        vault.open(sealed)
    with pytest.raises(SessionErased):
        vault.encrypt(text(1))


def test_session_ended_drops_the_cached_key_at_once(tmp_path: Path) -> None:
    vault = Vault(KeyStore(tmp_path, new_data_key()), encrypting=True, cache_s=3600.0)
    sealed = vault.encrypt(text(0))
    KeyStore(tmp_path, None).erase("call-1")
    ended = SessionEnded(event_id="call-1/session/1", session_id="call-1", seq=1, event_time_ms=0)
    assert vault.open(ended) is ended
    with pytest.raises(SessionErased):
        vault.open(sealed)


def test_a_process_without_a_master_key_passes_through_and_cannot_open(tmp_path: Path) -> None:
    sealed = Vault(KeyStore(tmp_path, new_data_key()), encrypting=True).encrypt(text(0))
    blind = Vault(None, encrypting=False)
    assert blind.encrypt(text(0)) == text(0)
    with pytest.raises(KeyMissing, match="holds no master key"):
        blind.open(sealed)


def test_settings_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MICROTURN_ENCRYPTION", "MICROTURN_MASTER_KEY", "MICROTURN_KEY_STORE", "MICROTURN_KEYS_DIR"):
        monkeypatch.delenv(name, raising=False)
    assert not Vault.from_env(tmp_path).encrypting  # no master key: off
    monkeypatch.setenv("MICROTURN_ENCRYPTION", "on")
    with pytest.raises(ConfigError, match="master key") as missing:
        Vault.from_env(tmp_path)
    assert missing.value.exit_code == 2
    generate_master_key(tmp_path / "keys" / "master.key")
    vault = Vault.from_env(tmp_path)
    assert vault.encrypting and vault.store is not None and vault.store.root == tmp_path / "keys" / "sessions"
    monkeypatch.delenv("MICROTURN_ENCRYPTION")
    assert Vault.from_env(tmp_path).encrypting  # the key exists: on
    monkeypatch.setenv("MICROTURN_ENCRYPTION", "off")
    off = Vault.from_env(tmp_path)
    assert not off.encrypting and off.store is not None  # still opens
    monkeypatch.setenv("MICROTURN_ENCRYPTION", "maybe")
    with pytest.raises(ConfigError, match="expected 'on' or 'off'"):
        Vault.from_env(tmp_path)
