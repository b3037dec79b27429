"""Rendezvous hashing, failover and discovery of Triton servers, on addresses alone (no server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from inference.pool import ServerPool, rank, read_servers, write_servers
from schemas.errors import ConfigError

SESSIONS = [f"call-{i}" for i in range(400)]


def test_adding_a_server_moves_only_the_sessions_it_takes() -> None:
    two, three = ["a:1", "b:1"], ["a:1", "b:1", "c:1"]
    before = {s: rank(s, two)[0] for s in SESSIONS}
    after = {s: rank(s, three)[0] for s in SESSIONS}
    moved = [s for s in SESSIONS if before[s] != after[s]]
    assert moved and all(after[s] == "c:1" for s in moved)
    assert 0.2 < len(moved) / len(SESSIONS) < 0.45  # about a third, not a reshuffle
    assert {s: rank(s, list(reversed(three)))[0] for s in SESSIONS} == after  # order of the list does not matter


def test_a_down_server_hands_its_sessions_to_their_next_server_until_it_is_back() -> None:
    now = [0.0]
    pool = ServerPool(["a:1", "b:1", "c:1"], down_s=5.0, clock=lambda: now[0])
    owned = {s: pool.server_for(s) for s in SESSIONS}
    pool.mark_down("a:1")
    moved = {s: pool.server_for(s) for s in SESSIONS}
    for s in SESSIONS:
        if owned[s] == "a:1":
            assert moved[s] == rank(s, pool.servers)[1]
        else:
            assert moved[s] == owned[s]
    now[0] = 6.0
    assert {s: pool.server_for(s) for s in SESSIONS} == owned


def test_with_every_server_down_a_session_keeps_its_own() -> None:
    pool = ServerPool(["a:1", "b:1"], down_s=5.0, clock=lambda: 0.0)
    pool.mark_down("a:1")
    pool.mark_down("b:1")
    assert all(pool.server_for(s) == rank(s, ["a:1", "b:1"])[0] for s in SESSIONS)


def test_a_failing_server_makes_the_pool_read_the_discovery_file_again(tmp_path: Path) -> None:
    discovery = tmp_path / "tritons"
    write_servers(discovery, ["127.0.0.1:1001"])
    pool = ServerPool(["127.0.0.1:1001"], discovery=discovery, clock=lambda: 0.0)
    write_servers(discovery, ["127.0.0.1:2002"])  # `up` restarted the server on another port
    assert pool.server_for("x") == "127.0.0.1:1001"
    pool.mark_down("127.0.0.1:1001")
    assert pool.servers == ["127.0.0.1:2002"] and pool.server_for("x") == "127.0.0.1:2002"
    assert read_servers(tmp_path / "missing") == []


def test_a_pool_needs_a_server_or_a_discovery_file() -> None:
    with pytest.raises(ConfigError, match="at least one"):
        ServerPool([])
    with pytest.raises(ConfigError, match="down_s"):
        ServerPool(["a:1"], down_s=0)
