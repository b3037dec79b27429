"""The key store: atomic creation, erasure with tombstones, the retention sweep, the master key file."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest

from schemas.encryption import new_data_key
from schemas.errors import ConfigError, SessionErased
from streams.keystore import (
    KeyMissing,
    KeyStore,
    KeyStoreError,
    generate_master_key,
    load_master_key,
)

DAY_NS = 86_400 * 10**9


class Clock:
    def __init__(self) -> None:
        self.now = 1_000 * DAY_NS

    def __call__(self) -> int:
        return self.now


def test_a_key_is_made_once_and_read_back_by_another_process(tmp_path: Path) -> None:
    master = new_data_key()
    first, second = KeyStore(tmp_path, master), KeyStore(tmp_path, master)
    key = first.create_or_load("call-1")
    assert second.load("call-1") == key
    assert second.create_or_load("call-1") == key
    path = tmp_path / "call-1.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert key not in path.read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == ["call-1.key"]  # no temporary file left behind


def test_racing_producers_end_up_with_one_key(tmp_path: Path) -> None:
    master = new_data_key()
    keys: list[bytes] = []
    barrier = threading.Barrier(8)

    def make() -> None:
        store = KeyStore(tmp_path, master)
        barrier.wait()
        keys.append(store.create_or_load("call-1"))

    threads = [threading.Thread(target=make) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(keys)) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["call-1.key"]


def test_erase_destroys_the_key_and_no_key_is_made_again(tmp_path: Path) -> None:
    store = KeyStore(tmp_path, new_data_key())
    store.create_or_load("call-1")
    store.create_or_load("call-2")
    assert store.erase("call-1") is True
    assert store.state("call-1") == "erased"
    assert not (tmp_path / "call-1.key").exists()
    with pytest.raises(SessionErased, match="call-1 was erased"):
        store.load("call-1")
    with pytest.raises(SessionErased):
        store.create_or_load("call-1")
    assert store.erase("call-1") is False  # already erased
    assert store.state("call-2") == "active"
    assert store.erased_ns("call-1") is not None


def test_erase_needs_no_master_key(tmp_path: Path) -> None:
    KeyStore(tmp_path, new_data_key()).create_or_load("call-1")
    blind = KeyStore(tmp_path, None)
    assert blind.erase("call-1") is True
    with pytest.raises(KeyStoreError, match="needs the master key"):
        blind.create_or_load("call-3")


def test_unknown_session_and_other_master_key_are_told_apart(tmp_path: Path) -> None:
    KeyStore(tmp_path, new_data_key()).create_or_load("call-1")
    other = KeyStore(tmp_path, new_data_key())
    with pytest.raises(KeyMissing, match="no data key for session call-9"):
        other.load("call-9")
    with pytest.raises(KeyStoreError, match="wrapped by master key"):
        other.load("call-1")
    assert other.state("call-9") == "none"


def test_a_session_id_that_is_not_one_never_becomes_a_path(tmp_path: Path) -> None:
    with pytest.raises(KeyStoreError, match="expected a session id"):
        KeyStore(tmp_path, new_data_key()).create_or_load("../../etc/passwd")


def test_the_sweep_erases_keys_past_their_retention_only(tmp_path: Path) -> None:
    clock = Clock()
    store = KeyStore(tmp_path, new_data_key(), clock=clock)
    store.create_or_load("old")
    clock.now += 10 * DAY_NS
    store.create_or_load("new")
    clock.now += 5 * DAY_NS
    assert store.sweep(retention_s=12 * 86_400) == ["old"]
    assert store.state("old") == "erased"
    assert store.state("new") == "active"
    assert store.sweep(retention_s=12 * 86_400) == []


def test_master_key_file_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "master.key"
    with pytest.raises(ConfigError, match="cannot read it") as missing:
        load_master_key(path)
    assert missing.value.exit_code == 2
    key = generate_master_key(path)
    assert load_master_key(path) == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(ConfigError, match="already exists"):
        generate_master_key(path)
    path.write_text("not hex")
    with pytest.raises(ConfigError, match="expected 64 hex digits"):
        load_master_key(path)
