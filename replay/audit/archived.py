"""Reading one session's archived events back, in chain order, with their digests recomputed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from processors.archiver.files import table_files
from processors.archiver.tables import TABLES, TableSpec
from replay.audit.errors import AuditError
from schemas.audit import digest, link


@dataclass(frozen=True)
class ArchivedEvent:
    """One archived row of a session, as the verifier sees it."""

    table: str
    """The table (event type) it was found in."""
    event_id: str
    """The event's id as archived."""
    audit_seq: int
    """The chain position stored with the row."""
    digest: bytes
    """sha256 of the canonical bytes rebuilt from the row now (not the stored digest)."""
    stored_digest: bytes
    """The digest stored beside the row when it was archived (a hint: it is not signed)."""
    stored_link: bytes
    """The chain link stored beside the row (a hint: only anchors and the head are signed)."""
    stored_prev_event_id: str
    """The event stored as its predecessor in the chain (a hint)."""
    where: str
    """topic[partition]@offset of the record it came from."""

    def follows(self, prev_link: bytes) -> bool:
        """Whether this row's content, chained after `prev_link`, gives the link stored beside it."""
        return link(prev_link, self.digest) == self.stored_link

    @property
    def genuine(self) -> bool:
        """Whether the row's content still hashes to the digest stored beside it."""
        return self.digest == self.stored_digest


def _canonical(spec: TableSpec, row: dict[str, Any]) -> bytes:
    try:
        return spec.canonical(row)
    except (msgspec.ValidationError, TypeError, KeyError, ValueError) as exc:  # a row no event can have
        return f"unreadable {spec.name} row: {exc}".encode()


def _rows(files: list[Path], session_id: str) -> list[dict[str, Any]]:
    """The session's rows in `files`, each with only the columns its file has; AuditError naming a file
    that is not Parquet or has no `session_id` column."""
    rows: list[dict[str, Any]] = []
    wanted = pc.field("session_id") == session_id
    for path in files:
        try:
            fragment = next(iter(ds.dataset(str(path), format="parquet").get_fragments()))
            rows.extend(fragment.to_table(schema=fragment.physical_schema, filter=wanted).to_pylist())
        except (pa.ArrowException, OSError, StopIteration) as exc:
            raise AuditError(
                f"reading {path}: expected an archive Parquet file with a session_id column; {exc}"
            ) from exc
    return rows


UNREADABLE = 2**63
"""Chain position given to a row whose archive columns are missing or of the wrong type: after every
position a head can seal, so it is reported as inserted."""


def _archived(spec: TableSpec, row: dict[str, Any]) -> tuple[tuple[int, str, int, int], ArchivedEvent]:
    """The row as the verifier sees it, with its sort key; rows no archiver wrote still give one."""
    content = digest(_canonical(spec, row))
    try:
        order = (int(row["audit_seq"]), str(row["kafka_topic"]), int(row["kafka_partition"]), int(row["kafka_offset"]))
        event = ArchivedEvent(
            table=spec.name,
            event_id=str(row["event_id"]),
            audit_seq=order[0],
            digest=content,
            stored_digest=bytes(row["audit_digest"]),
            stored_link=bytes(row["audit_link"]),
            stored_prev_event_id=str(row["audit_prev_event_id"]),
            where=f"{row['kafka_topic']}[{row['kafka_partition']}]@{row['kafka_offset']}",
        )
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        where = f"an unreadable {spec.name} row ({type(exc).__name__}: {exc})"
        event = ArchivedEvent(spec.name, str(row.get("event_id")), UNREADABLE, content, b"", b"", "", where)
        order = (UNREADABLE, "", 0, 0)
    return order, event


def load_session(root: Path, session_id: str) -> list[ArchivedEvent]:
    """Every archived row of `session_id`, sorted by (audit_seq, topic, partition, offset)."""
    if not root.is_dir():
        raise AuditError(f"no archive at {root}: pass --archive or set MICROTURN_ARCHIVE_DIR")
    keyed: list[tuple[tuple[int, str, int, int], ArchivedEvent]] = []
    for spec in TABLES.values():
        files = table_files(root, spec.name)  # the very files the DuckDB views read
        keyed += [_archived(spec, row) for row in _rows(files, session_id)]
    keyed.sort(key=lambda pair: pair[0])
    return [event for _, event in keyed]
