"""An epoch's worth of consumed records, grouped into the files they will become.

Files are partitioned by table and by the hour of the record's Kafka timestamp (the producer's
create time, so a record re-archived after a crash lands in the same folder):

    <root>/<table>/date=YYYY-MM-DD/hour=HH/part-<epoch>-<schema fingerprint>-<uuid>.parquet

Rows within a file are sorted by (session_id, seq, audit_seq), so one session's rows are
contiguous and Parquet statistics let a per-session query skip the rest of the file.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from processors.archiver.tables import TableSpec
from schemas import Event
from schemas.audit import Appended

_HOUR_MS = 3_600_000
_LAST_HOUR = int(datetime(9999, 12, 31, 23, tzinfo=UTC).timestamp()) // 3600
"""Records stamped later than this hour (a producer's clock or a hostile timestamp) are filed under it."""
SORT_KEYS = [("session_id", "ascending"), ("seq", "ascending"), ("audit_seq", "ascending")]


@dataclass
class _Bucket:
    spec: TableSpec
    columns: dict[str, list[Any]]


@dataclass(frozen=True)
class PlannedFile:
    """One file an epoch writes."""

    relpath: str
    """Path under the archive root."""
    table: pa.Table
    """Its rows, sorted."""
    spec: TableSpec
    """The table it belongs to."""


@dataclass
class EpochBatch:
    """Rows consumed since the last commit; `due()` says when to turn them into files."""

    roll_bytes: int
    """Commit once this many bytes of record values are buffered."""
    roll_age_s: float
    """Commit once the oldest buffered row is this old."""
    clock: Callable[[], float] = time.monotonic
    """Monotonic clock for the age rule (tests pass their own)."""
    opener: Callable[[Event], Event] = lambda event: event
    """Gives the event the derived columns are computed from: the payload in the clear when the
    archiver holds the session's key (`Archiver`), else the event as stored (energy 0). Only the
    derived columns see it; the event's own columns are always the ciphertext as consumed."""
    nbytes: int = 0
    """Bytes of record values buffered."""
    rows: int = 0
    """Rows buffered."""
    _started: float | None = None
    _buckets: dict[tuple[str, int], _Bucket] = field(default_factory=dict)

    def add(
        self, spec: TableSpec, event: Event, coords: tuple[str, int, int, int], appended: Appended, size: int
    ) -> None:
        """Buffer `event` from record (topic, partition, offset, timestamp_ms) of `size` bytes."""
        topic, partition, offset, timestamp_ms = coords
        key = (spec.name, min(max(timestamp_ms, 0) // _HOUR_MS, _LAST_HOUR))  # producers set the timestamp
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(spec, {name: [] for name in spec.schema.names})
        cols = bucket.columns
        for name in spec.event_fields:
            cols[name].append(getattr(event, name))
        if spec.derived:
            plain = self.opener(event)
            for name, compute in spec.derived:
                cols[name].append(compute(plain))
        for name, value in (
            ("kafka_topic", topic),
            ("kafka_partition", partition),
            ("kafka_offset", offset),
            ("kafka_timestamp_ms", timestamp_ms),
            ("audit_seq", appended.seq),
            ("audit_digest", appended.digest),
            ("audit_link", appended.link),
            ("audit_prev_event_id", appended.prev_event_id),
        ):
            cols[name].append(value)
        if self._started is None:
            self._started = self.clock()
        self.nbytes += size
        self.rows += 1

    def age_s(self) -> float:
        """Seconds since the first buffered row (0 when empty)."""
        return 0.0 if self._started is None else self.clock() - self._started

    def due(self) -> bool:
        """Whether the buffered rows should become files now (by size or by age)."""
        return self.rows > 0 and (self.nbytes >= self.roll_bytes or self.age_s() >= self.roll_age_s)

    def files(self, epoch: int) -> Iterator[PlannedFile]:
        """The files of `epoch`: one per (table, hour) with rows, sorted by session."""
        for (name, hour), bucket in sorted(self._buckets.items()):
            when = datetime.fromtimestamp(hour * 3600, tz=UTC)
            relpath = (
                f"{name}/date={when:%Y-%m-%d}/hour={when:%H}/"
                f"part-{epoch:010d}-{bucket.spec.fingerprint}-{uuid.uuid4().hex[:12]}.parquet"
            )
            table = pa.Table.from_pydict(bucket.columns, schema=bucket.spec.schema).sort_by(SORT_KEYS)
            yield PlannedFile(relpath, table, bucket.spec)

    def clear(self) -> None:
        """Forget the buffered rows (after their epoch committed)."""
        self._buckets.clear()
        self.nbytes = self.rows = 0
        self._started = None
