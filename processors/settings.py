"""Worker settings, read from the environment once at start-up and checked at construction."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from processors.errors import ConfigError
from schemas import Topics

STATE_DIR = ".microturn"
"""The state dir when $MICROTURN_STATE_DIR is not set (relative to the working directory)."""


def default_state_dir() -> Path:
    """$MICROTURN_STATE_DIR, else `./.microturn`: where `up` keeps logs, state.json and local data."""
    return Path(os.environ.get("MICROTURN_STATE_DIR") or STATE_DIR)


def _host_port(name: str, value: str) -> list[str]:
    """Problems with a comma-separated host:port list (empty when it is fine)."""
    problems = []
    for address in value.split(","):
        host, sep, port = address.strip().rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            problems.append(f"{name} must be host:port[,host:port]; got {value!r}")
            break
    return problems


@dataclass(frozen=True)
class WorkerSettings:
    """Everything a worker process needs to know, checked at construction."""

    kafka: str
    """Kafka bootstrap servers, host:port[,host:port]."""
    triton: str
    """Triton gRPC addresses, host:port[,host:port]; sessions spread over them (`inference.pool`)."""
    topics: Topics
    """The topic set the worker reads and writes."""
    state_dir: Path
    """Where the worker keeps local data (its readiness file)."""
    triton_timeout_s: float = 10.0
    """Deadline of one Triton request, in seconds (0 < t <= 300)."""
    triton_discovery: Path | None = None
    """A file listing the current Triton addresses (written by `up`), read again when a server fails."""

    @property
    def tritons(self) -> list[str]:
        """The Triton gRPC addresses, in order."""
        return [address.strip() for address in self.triton.split(",")]

    def __post_init__(self) -> None:
        problems = _host_port("MICROTURN_KAFKA", self.kafka) + _host_port("MICROTURN_TRITON", self.triton)
        if not 0 < self.triton_timeout_s <= 300:
            problems.append(f"MICROTURN_TRITON_TIMEOUT_S must be in (0, 300] seconds; got {self.triton_timeout_s}")
        if problems:
            raise ConfigError("worker settings: " + "; ".join(problems))

    @property
    def app_id(self) -> str:
        """The faust app id, also the Kafka consumer group."""
        return f"{self.topics.prefix}-workers"

    @classmethod
    def from_env(cls) -> WorkerSettings:
        missing = [name for name in ("MICROTURN_KAFKA", "MICROTURN_TRITON") if not os.environ.get(name)]
        if missing:
            raise ConfigError(
                f"worker settings: expected {', '.join(missing)} in the environment "
                "(start workers with `microturn up`, which sets them)"
            )
        timeout = os.environ.get("MICROTURN_TRITON_TIMEOUT_S", "10")
        try:
            timeout_s = float(timeout)
        except ValueError as exc:
            raise ConfigError(f"worker settings: MICROTURN_TRITON_TIMEOUT_S must be a number; got {timeout!r}") from exc
        return cls(
            kafka=os.environ["MICROTURN_KAFKA"],
            triton=os.environ["MICROTURN_TRITON"],
            topics=Topics(os.environ.get("MICROTURN_TOPIC_PREFIX", "microturn")),
            state_dir=default_state_dir(),
            triton_timeout_s=timeout_s,
            triton_discovery=Path(os.environ["MICROTURN_TRITON_DISCOVERY"])
            if os.environ.get("MICROTURN_TRITON_DISCOVERY")
            else None,
        )
