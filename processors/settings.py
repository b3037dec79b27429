"""Worker settings, read from the environment once at start-up."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from processors.assembler import MAX_CLOCK_JUMP_MS, MAX_SESSION_MS
from processors.errors import ConfigError
from schemas import Topics


@dataclass(frozen=True)
class WorkerSettings:
    """Everything a worker process needs to know, checked at construction."""

    kafka: str
    """Kafka bootstrap servers, host:port[,host:port]."""
    triton: str
    """Triton gRPC address, host:port."""
    topics: Topics
    """The topic set the worker reads and writes."""
    state_dir: Path
    """Where the worker keeps local data (faust tables)."""
    triton_timeout_s: float = 10.0
    """Deadline of one Triton request."""
    max_clock_jump_ms: int = MAX_CLOCK_JUMP_MS
    """How far one event may move a session's clock beyond the open turn (MICROTURN_MAX_CLOCK_JUMP_MS);
    events beyond it are dead-lettered."""
    max_session_ms: int = MAX_SESSION_MS
    """Longest session (MICROTURN_MAX_SESSION_MS): events with a later time are dead-lettered."""

    def __post_init__(self) -> None:
        if self.max_clock_jump_ms < 0 or self.max_session_ms <= 0 or self.triton_timeout_s <= 0:
            raise ConfigError(
                "worker settings: expected MICROTURN_MAX_CLOCK_JUMP_MS >= 0, MICROTURN_MAX_SESSION_MS > 0 and "
                f"MICROTURN_TRITON_TIMEOUT_S > 0; got {self.max_clock_jump_ms}, {self.max_session_ms}, "
                f"{self.triton_timeout_s}"
            )

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
            state_dir=Path(os.environ.get("MICROTURN_STATE_DIR", ".microturn")),
            triton_timeout_s=_number("MICROTURN_TRITON_TIMEOUT_S", "10", float),
            max_clock_jump_ms=_number("MICROTURN_MAX_CLOCK_JUMP_MS", str(MAX_CLOCK_JUMP_MS), int),
            max_session_ms=_number("MICROTURN_MAX_SESSION_MS", str(MAX_SESSION_MS), int),
        )


def _number(name: str, default: str, kind: type[int] | type[float]) -> Any:
    raw = os.environ.get(name, default)
    try:
        return kind(raw)
    except ValueError:
        raise ConfigError(f"worker settings: expected {name} to be a number ({kind.__name__}); got {raw!r}") from None
