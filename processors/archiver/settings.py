"""Archiver settings, read once at start-up from the environment (or given by the CLI)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from processors.errors import ConfigError
from processors.settings import default_state_dir
from schemas import Topics
from schemas.audit import default_key_path

FAULTS = ("", "after_files", "after_checkpoint")
"""Test hook: where the archiver SIGKILLs itself once, to prove the resume rule at its crash points."""


def default_archive_dir() -> Path:
    """$MICROTURN_ARCHIVE_DIR, else `<state dir>/archive` (state dir: $MICROTURN_STATE_DIR or .microturn)."""
    if os.environ.get("MICROTURN_ARCHIVE_DIR"):
        return Path(os.environ["MICROTURN_ARCHIVE_DIR"])
    return default_state_dir() / "archive"


@dataclass(frozen=True)
class ArchiverSettings:
    """Everything an archiver needs, checked at construction."""

    kafka: str
    """Kafka bootstrap servers, host:port[,host:port]."""
    topics: Topics
    """The topic set to archive (every topic but the audit topic, which the archiver writes)."""
    archive_dir: Path
    """The archive root: one folder per table, plus `_archiver/` (checkpoint, lock)."""
    key_path: Path
    """The Ed25519 key that signs chain heads; created there if missing; never inside `archive_dir`."""
    roll_bytes: int = 64 * 1024 * 1024
    """Commit an epoch (write its files) once this many bytes of records are buffered."""
    roll_age_s: float = 30.0
    """... or once the oldest buffered record is this many seconds old."""
    fault: str = ""
    """Test hook, one of FAULTS; empty in production."""

    def __post_init__(self) -> None:
        if self.roll_bytes <= 0 or self.roll_age_s <= 0:
            raise ConfigError(
                f"archiver settings: expected roll_bytes > 0 and roll_age_s > 0; got "
                f"{self.roll_bytes} and {self.roll_age_s}"
            )
        if self.key_path.resolve().is_relative_to(self.archive_dir.resolve()):
            raise ConfigError(
                f"archiver settings: the audit signing key {self.key_path} lies inside the archive "
                f"{self.archive_dir}; whoever can write the archive could then sign a rewritten chain. "
                "Keep it in a keys folder of its own (MICROTURN_KEYS_DIR or MICROTURN_AUDIT_KEY)"
            )
        if self.fault not in FAULTS:
            raise ConfigError(
                f"archiver settings: MICROTURN_ARCHIVER_FAULT must be one of {FAULTS}; got {self.fault!r}"
            )

    @property
    def group_id(self) -> str:
        """The archiver's own consumer group, whose committed offsets `archive sync` watches."""
        return archiver_group(self.topics.prefix)

    @property
    def archived_topics(self) -> list[str]:
        """Every topic of the set except the audit topic."""
        return [spec.name for spec in self.topics.specs() if spec.name != self.topics.audit]

    @classmethod
    def from_env(cls, **overrides: Any) -> ArchiverSettings:
        """Settings from MICROTURN_* variables; `overrides` that are not None win."""
        env = os.environ
        values: dict[str, Any] = {
            "kafka": env.get("MICROTURN_KAFKA"),
            "topics": Topics(env.get("MICROTURN_TOPIC_PREFIX", "microturn")),
            "archive_dir": default_archive_dir(),
            "key_path": default_key_path(default_state_dir()),
            "roll_bytes": int(env.get("MICROTURN_ARCHIVE_ROLL_BYTES", 64 * 1024 * 1024)),
            "roll_age_s": float(env.get("MICROTURN_ARCHIVE_ROLL_AGE_S", 30.0)),
            "fault": env.get("MICROTURN_ARCHIVER_FAULT", ""),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        if not values["kafka"]:
            raise ConfigError("archiver settings: expected MICROTURN_KAFKA (host:port) in the environment or --kafka")
        return cls(**values)


def archiver_group(prefix: str) -> str:
    """The consumer group of the archiver of topic prefix `prefix`."""
    return f"{prefix}-archiver"
