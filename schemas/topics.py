"""Topic names, partition counts and configs, in one place.

Every per-session topic has the same partition count and is keyed by session id, so one worker
owns all of a session's state. Names hang off a prefix so tests (and tenants) get their own set.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_PREFIX = "microturn"
PARTITIONS = 4
"""Partition count of every per-session topic."""

_DAY_MS = 24 * 3600 * 1000
_INPUT_MAX_BYTES = 1 * 1024 * 1024
_TURN_MAX_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class TopicSpec:
    """How one topic is created."""

    name: str
    """Full topic name."""
    partitions: int
    """Partition count."""
    config: dict[str, str] = field(default_factory=dict)
    """Topic-level configs (retention.ms, max.message.bytes, cleanup.policy...)."""

    @property
    def max_message_bytes(self) -> int:
        """Largest record the broker accepts on this topic."""
        return int(self.config["max.message.bytes"])


def _delete(retention_days: int, max_bytes: int) -> dict[str, str]:
    return {
        "cleanup.policy": "delete",
        "retention.ms": str(retention_days * _DAY_MS),
        "max.message.bytes": str(max_bytes),
    }


@dataclass(frozen=True)
class Topics:
    """The topic set under one prefix."""

    prefix: str = DEFAULT_PREFIX
    """Prefix of every name, e.g. "microturn" -> "microturn.input.audio"."""
    partitions: int = PARTITIONS
    """Partition count of every topic."""

    @property
    def session(self) -> str:
        return f"{self.prefix}.session"

    @property
    def audio(self) -> str:
        return f"{self.prefix}.input.audio"

    @property
    def video(self) -> str:
        return f"{self.prefix}.input.video"

    @property
    def text(self) -> str:
        return f"{self.prefix}.input.text"

    @property
    def playback(self) -> str:
        """Playback events of live calls (what the caller heard); no processor takes them as input."""
        return f"{self.prefix}.playback"

    @property
    def background_results(self) -> str:
        return f"{self.prefix}.background.results"

    @property
    def background_tasks(self) -> str:
        return f"{self.prefix}.background.tasks"

    @property
    def turns(self) -> str:
        return f"{self.prefix}.turns"

    @property
    def output(self) -> str:
        return f"{self.prefix}.output"

    @property
    def dlq(self) -> str:
        return f"{self.prefix}.dlq"

    @property
    def audit(self) -> str:
        return f"{self.prefix}.audit"

    @property
    def session_keyed(self) -> tuple[str, ...]:
        """The topics keyed by session id: they must all have the same partition count."""
        return (
            self.session,
            self.audio,
            self.video,
            self.text,
            self.playback,
            self.background_results,
            self.background_tasks,
            self.turns,
            self.output,
        )

    @property
    def checkpoints(self) -> str:
        """Workers' per-partition state checkpoints (`processors.checkpoint`); not in `specs()`:
        not an event topic, so neither archived nor read by consumers of events."""
        return f"{self.prefix}.checkpoints"

    def checkpoint_spec(self) -> TopicSpec:
        """The checkpoints topic: one partition, compacted by key (a partition number), so it holds
        about one record per partition; small segments so compaction keeps up."""
        return TopicSpec(
            self.checkpoints,
            1,
            {
                "cleanup.policy": "compact",
                "segment.ms": str(60_000),
                "min.cleanable.dirty.ratio": "0.1",
                "max.message.bytes": str(8 * _TURN_MAX_BYTES),
            },
        )

    def specs(self) -> tuple[TopicSpec, ...]:
        """Every topic of the set with its partitions and configs."""
        p = self.partitions
        week = 7
        return (
            TopicSpec(self.session, p, _delete(week, _INPUT_MAX_BYTES)),
            TopicSpec(self.audio, p, _delete(week, _INPUT_MAX_BYTES)),
            TopicSpec(self.video, p, _delete(week, _INPUT_MAX_BYTES)),
            TopicSpec(self.text, p, _delete(week, _INPUT_MAX_BYTES)),
            TopicSpec(self.playback, p, _delete(week, _INPUT_MAX_BYTES)),
            TopicSpec(self.background_results, p, _delete(week, _INPUT_MAX_BYTES)),
            TopicSpec(self.background_tasks, p, _delete(week, _INPUT_MAX_BYTES)),
            TopicSpec(self.turns, p, _delete(week, _TURN_MAX_BYTES)),
            TopicSpec(self.output, p, _delete(week, _TURN_MAX_BYTES)),
            TopicSpec(self.dlq, p, _delete(30, _TURN_MAX_BYTES + 64 * 1024)),
            TopicSpec(
                self.audit,
                p,
                {"cleanup.policy": "compact", "max.message.bytes": str(_INPUT_MAX_BYTES)},
            ),
        )

    def spec(self, name: str) -> TopicSpec:
        """The spec of topic `name`; KeyError if it is not one of ours."""
        for spec in self.specs():
            if spec.name == name:
                return spec
        raise KeyError(name)
