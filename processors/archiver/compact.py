"""Merging an archive's small files: `microturn archive compact`.

Every (table, date, hour) folder holding two or more files of one schema version has them merged,
in the order they were written, into files of at most `MAX_BYTES` of input each (a merge is read
whole into memory: an hour of a busy contact center's audio is gigabytes, so a folder is not
one file), a file already that large being left as it is. Each output holds the same rows, sorted
by (session_id, seq, audit_seq) like every file the archiver writes, in row groups whose min/max
statistics let a per-session query skip the rest. Nothing is added, dropped or changed in a row,
so the audit verifier checks exactly what it checked before.

Exactly once, across a crash at any point (a SIGKILL included), in the archiver's own way:

1. `_archiver/compact-<id>.json` names the input files and the output file, durably;
2. the output is written under a temporary dot-name and renamed into place (atomic);
3. the inputs are deleted, then the record.

On the next start (`recover`, run by `compact` and by the archiver before anything else), a
record whose output exists rolls forward (its inputs are deleted: the output holds their rows);
one whose output does not exist rolls back (its temporary is deleted; the inputs are intact).
Only committed files are merged: compaction holds the archive root's lock, so no archiver runs,
and rolls back the archiver's uncommitted epochs first.
"""

from __future__ import annotations

import os
import signal
import uuid
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import msgspec
import pyarrow as pa
import pyarrow.parquet as pq
import structlog

from processors.archiver.batch import SORT_KEYS
from processors.archiver.checkpoint import STATE_DIR, CheckpointStore
from processors.archiver.durable import fsync_dir, remove, write_bytes, write_parquet
from processors.archiver.errors import ArchiveError
from processors.archiver.files import table_files
from processors.archiver.tables import TABLES

log = structlog.get_logger(__name__)

MAX_BYTES = 256 * 2**20
"""The most input (Parquet bytes on disk) one merge reads; its output is about as large."""
FAULT_ENV = "MICROTURN_COMPACT_FAULT"
"""Tests only: `after_record` or `after_output` SIGKILLs the process at that point of the first merge."""


class Merge(msgspec.Struct, frozen=True):
    """One merge: `inputs` become `output` (paths relative to the archive root)."""

    inputs: tuple[str, ...]
    output: str


@dataclass(frozen=True)
class Compacted:
    """What one `compact` did."""

    merges: int
    files_before: int
    files_after: int

    def as_dict(self) -> dict[str, int]:
        return {"merges": self.merges, "files_before": self.files_before, "files_after": self.files_after}


def _fingerprint(path: Path) -> str:
    parts = path.name.split("-")
    return parts[2] if len(parts) >= 4 else ""


def _fault(point: str) -> None:
    if os.environ.get(FAULT_ENV) == point:
        log.warning("fault_injected", point=point)
        os.kill(os.getpid(), signal.SIGKILL)


def recover(root: Path) -> int:
    """Finish or undo merges a crash interrupted (see the module docstring); how many there were."""
    state = root / STATE_DIR
    records = sorted(state.glob("compact-*.json")) if state.is_dir() else []
    for record in records:
        merge = msgspec.json.decode(record.read_bytes(), type=Merge)
        output = root / merge.output
        if output.exists():
            gone = remove([root / name for name in merge.inputs])
            log.warning("compaction_rolled_forward", output=merge.output, deleted=len(gone))
        else:
            remove([output])
            log.warning("compaction_rolled_back", output=merge.output)
        record.unlink()
        fsync_dir(state)
    return len(records)


def _batches(paths: list[Path], max_bytes: int) -> list[list[Path]]:
    """`paths` (in the order written) cut into runs of at most `max_bytes` together; a file at least
    that large is a run of its own."""
    batches: list[list[Path]] = []
    size = max_bytes
    for path in paths:
        st = path.stat().st_size
        if not batches or size + st > max_bytes:
            batches.append([])
            size = 0
        batches[-1].append(path)
        size += st
    return batches


def _read(root: Path, inputs: list[Path], schema: pa.Schema) -> pa.Table:
    """The rows of `inputs`; ArchiveError naming a file that cannot be read, its merge undone (no
    output was written: `recover` drops the record)."""
    tables = []
    for path in inputs:
        try:
            tables.append(pq.read_table(path, partitioning=None, schema=schema))
        except (OSError, pa.ArrowException) as exc:
            recover(root)
            raise ArchiveError(
                f"compact: cannot read {path.relative_to(root)} (expected a Parquet file of the archive): {exc}; "
                "move it out of the archive and compact again"
            ) from exc
    return pa.concat_tables(tables)


def compact(root: Path, min_files: int = 2, max_bytes: int = MAX_BYTES) -> Compacted:
    """Merge every folder's small files of one schema version (see the module docstring); ArchiveError
    if an archiver runs."""
    if not root.is_dir():
        raise ArchiveError(f"no archive at {root}: pass --archive or set MICROTURN_ARCHIVE_DIR")
    store = CheckpointStore(root)
    store.lock()  # no archiver writes while files are merged; released when this process exits
    store.recover()
    recover(root)
    merges = before = after = 0
    for name, spec in TABLES.items():
        files = table_files(root, name)
        before += len(files)
        groups: dict[tuple[Path, str], list[Path]] = defaultdict(list)
        for path in files:
            groups[(path.parent, _fingerprint(path))].append(path)
        batches = [
            (folder, fingerprint, batch)
            for (folder, fingerprint), paths in sorted(groups.items())
            for batch in (_batches(paths, max_bytes) if fingerprint == spec.fingerprint else [paths])
        ]
        for folder, fingerprint, inputs in batches:
            if len(inputs) < min_files or fingerprint != spec.fingerprint:
                after += len(inputs)  # older schema versions are left as they are
                continue
            epoch = max(int(p.name.split("-")[1]) for p in inputs)
            output = folder / f"part-{epoch:010d}-{fingerprint}-c{uuid.uuid4().hex[:11]}.parquet"
            merge = Merge(tuple(str(p.relative_to(root)) for p in inputs), str(output.relative_to(root)))
            write_bytes(root / STATE_DIR / f"compact-{uuid.uuid4().hex}.json", msgspec.json.encode(merge))
            _fault("after_record")
            table = _read(root, inputs, spec.schema).sort_by(SORT_KEYS)
            write_parquet(output, table, spec.binary_columns)
            _fault("after_output")
            recover(root)  # the output exists: its inputs go, then the record
            merges += 1
            after += 1
            log.info("files_merged", table=name, folder=str(folder.relative_to(root)), inputs=len(inputs))
    return Compacted(merges, before, after)
