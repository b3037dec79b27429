"""Sessions spread over several Triton servers: rendezvous hashing, failover and discovery.

Each session is pinned to one server by rendezvous (highest random weight) hashing of its id over
the live servers: adding or removing a server moves only the sessions that must move. A server
that answers `Unavailable` is taken out of the rotation for `down_s`; its sessions go to their
next server in rank order, which has no state for them, so the interaction step rebuilds them
from the log (`processors.interaction`): outputs are identical to an uninterrupted run.

Discovery: `up` writes the local servers' gRPC addresses to a file in its state dir. When a server
is unreachable, the pool reads that file again, so a server that `up` restarted on a new port is
found without restarting the worker.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import structlog

from schemas.errors import ConfigError

log = structlog.get_logger(__name__)


def rank(session_id: str, servers: Sequence[str]) -> list[str]:
    """`servers` from the one `session_id` belongs to first to the last fallback (rendezvous order)."""

    def weight(server: str) -> bytes:
        return hashlib.blake2b(f"{server}\x00{session_id}".encode(), digest_size=8).digest()

    return sorted(servers, key=weight, reverse=True)


def read_servers(path: Path) -> list[str]:
    """The addresses listed in a discovery file, one per line; [] when it is missing or empty."""
    try:
        return [line.strip() for line in path.read_text().splitlines() if line.strip()]
    except OSError:
        return []


def write_servers(path: Path, servers: Sequence[str]) -> None:
    """Publish `servers` for the workers' pools (atomically: a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(f"{server}\n" for server in servers))
    tmp.replace(path)


class ServerPool:
    """The Triton servers a worker uses, and which one serves each session."""

    def __init__(
        self,
        servers: Sequence[str],
        discovery: Path | None = None,
        down_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`servers`: gRPC addresses; `discovery`: a file `up` keeps current, read when a server fails."""
        if not servers and discovery is None:
            raise ConfigError("triton servers: expected at least one host:port, or a discovery file")
        if down_s <= 0:
            raise ConfigError(f"triton servers: down_s must be > 0; got {down_s}")
        self._servers = list(dict.fromkeys(servers)) or read_servers(discovery)  # type: ignore[arg-type]
        self._discovery = discovery
        self._down_s = down_s
        self._clock = clock
        self._down: dict[str, float] = {}

    @property
    def servers(self) -> list[str]:
        """Every known server, up or down."""
        return list(self._servers)

    def server_for(self, session_id: str) -> str:
        """The server that runs `session_id` now: its first-ranked server that is not down."""
        now = self._clock()
        ranked = rank(session_id, self._servers)
        for server in ranked:
            if self._down.get(server, 0.0) <= now:
                return server
        return ranked[0]  # all down: keep trying the session's own server

    def mark_down(self, server: str) -> None:
        """`server` did not answer: route its sessions elsewhere for a while, and look for new addresses."""
        self._down[server] = self._clock() + self._down_s
        log.warning("triton_server_down", server=server, down_s=self._down_s)
        self.rediscover()

    def rediscover(self) -> bool:
        """Read the discovery file again; whether the server list changed."""
        if self._discovery is None:
            return False
        found = read_servers(self._discovery)
        if not found or found == self._servers:
            return False
        log.info("triton_servers_changed", before=self._servers, after=found)
        self._servers = found
        self._down = {s: t for s, t in self._down.items() if s in found}
        return True
