"""Worker settings, read from the environment once at start-up and checked at construction."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from processors.assembler import MAX_CLOCK_JUMP_MS, MAX_SESSION_MS
from processors.checkpoint import CHECKPOINT_S
from processors.errors import ConfigError
from schemas import Topics
from streams.redaction import RedactionSettings

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
    max_clock_jump_ms: int = MAX_CLOCK_JUMP_MS
    """How far one event may move a session's clock beyond the open turn (MICROTURN_MAX_CLOCK_JUMP_MS);
    events beyond it are dead-lettered."""
    max_session_ms: int = MAX_SESSION_MS
    """Longest session (MICROTURN_MAX_SESSION_MS): events with a later time are dead-lettered."""
    checkpoint_s: float = CHECKPOINT_S
    """Seconds between checkpoints of a changed partition (MICROTURN_CHECKPOINT_S, 0 < s <= 3600):
    about how much of a partition's traffic a worker that takes it over replays."""
    redaction: RedactionSettings = field(default_factory=RedactionSettings)
    """What model text, background tasks and results and dead letters are redacted of
    (MICROTURN_REDACT*, see `RedactionSettings`); its digest is recorded in every ModelOutput."""

    @property
    def tritons(self) -> list[str]:
        """The Triton gRPC addresses, in order."""
        return [address.strip() for address in self.triton.split(",")]

    def __post_init__(self) -> None:
        problems = _host_port("MICROTURN_KAFKA", self.kafka) + _host_port("MICROTURN_TRITON", self.triton)
        if not 0 < self.triton_timeout_s <= 300:
            problems.append(f"MICROTURN_TRITON_TIMEOUT_S must be in (0, 300] seconds; got {self.triton_timeout_s}")
        if self.max_clock_jump_ms < 0:
            problems.append(f"MICROTURN_MAX_CLOCK_JUMP_MS must be >= 0; got {self.max_clock_jump_ms}")
        if self.max_session_ms <= 0:
            problems.append(f"MICROTURN_MAX_SESSION_MS must be > 0; got {self.max_session_ms}")
        if not 0 < self.checkpoint_s <= 3600:
            problems.append(f"MICROTURN_CHECKPOINT_S must be in (0, 3600] seconds; got {self.checkpoint_s}")
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
        return cls(
            kafka=os.environ["MICROTURN_KAFKA"],
            triton=os.environ["MICROTURN_TRITON"],
            topics=Topics(os.environ.get("MICROTURN_TOPIC_PREFIX", "microturn")),
            state_dir=default_state_dir(),
            triton_timeout_s=_number("MICROTURN_TRITON_TIMEOUT_S", "10", float),
            triton_discovery=Path(os.environ["MICROTURN_TRITON_DISCOVERY"])
            if os.environ.get("MICROTURN_TRITON_DISCOVERY")
            else None,
            max_clock_jump_ms=_number("MICROTURN_MAX_CLOCK_JUMP_MS", str(MAX_CLOCK_JUMP_MS), int),
            max_session_ms=_number("MICROTURN_MAX_SESSION_MS", str(MAX_SESSION_MS), int),
            checkpoint_s=_number("MICROTURN_CHECKPOINT_S", str(CHECKPOINT_S), float),
            redaction=RedactionSettings.from_env(),
        )


def _number(name: str, default: str, kind: type[int] | type[float]) -> Any:
    raw = os.environ.get(name, default)
    try:
        return kind(raw)
    except ValueError:
        raise ConfigError(f"worker settings: expected {name} to be a number ({kind.__name__}); got {raw!r}") from None
