"""Worker settings, read from the environment once at start-up."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

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
            triton_timeout_s=float(os.environ.get("MICROTURN_TRITON_TIMEOUT_S", "10")),
        )
