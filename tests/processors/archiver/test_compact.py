"""`microturn archive compact`: small files merged, every row kept exactly once, across a SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from benchmarks.query_archive_data import write_batch
from processors.archiver.checkpoint import STATE_DIR, CheckpointStore
from processors.archiver.compact import FAULT_ENV
from processors.archiver.files import table_files
from processors.archiver.tables import TABLES
from replay.analytics import connect
from replay.audit.archived import load_session

COMPACT = (
    "import sys; from pathlib import Path; from processors.archiver.compact import MAX_BYTES, compact; "
    "compact(Path(sys.argv[1]), max_bytes=int(sys.argv[2]) if sys.argv[2:] else MAX_BYTES)"
)


def _archive(tmp_path: Path) -> Path:
    root = tmp_path / "archive"
    for first in (0, 24, 48):  # three epochs' files in each table's hour=00 folder
        write_batch(root, first, sessions=3, turns=30, seed=first)
    return root


def _rows(root: Path) -> dict[str, list[dict[str, object]]]:
    """Every table's rows, in one canonical order."""
    rows = {}
    for name, spec in TABLES.items():
        files = table_files(root, name)
        if files:
            table = pa.concat_tables([pq.read_table(p, partitioning=None, schema=spec.schema) for p in files])
            keys = [("kafka_topic", "ascending"), ("kafka_partition", "ascending"), ("kafka_offset", "ascending")]
            rows[name] = table.sort_by([("session_id", "ascending"), ("event_id", "ascending"), *keys]).to_pylist()
    return rows


def _compact(root: Path, fault: str = "", max_bytes: int | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != FAULT_ENV}
    if fault:
        env[FAULT_ENV] = fault
    limit = [] if max_bytes is None else [str(max_bytes)]
    return subprocess.run(
        [sys.executable, "-c", COMPACT, str(root), *limit], env=env, capture_output=True, text=True, check=False
    )


def _leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.startswith(".") or p.name.startswith("compact-")]


def test_compaction_merges_each_folder_into_one_sorted_file_with_the_same_rows(tmp_path: Path) -> None:
    root = _archive(tmp_path)
    before, chain = _rows(root), load_session(root, "s0000025")
    assert len(table_files(root, "micro_turn")) == 3
    done = _compact(root)
    assert done.returncode == 0, done.stderr
    assert _rows(root) == before and load_session(root, "s0000025") == chain
    [merged] = table_files(root, "micro_turn")
    sessions = pq.read_table(merged, partitioning=None, columns=["session_id"]).column(0).to_pylist()
    assert sessions == sorted(sessions)
    assert not _leftovers(root)


def test_a_merge_reads_at_most_max_bytes_of_input(tmp_path: Path) -> None:
    """A folder is not read whole: its files are merged in runs of at most `max_bytes`, in the order
    they were written; a file left over alone is kept as it is."""
    root = _archive(tmp_path)
    before = _rows(root)
    first, second, third = table_files(root, "micro_turn")
    limit = first.stat().st_size + second.stat().st_size
    done = _compact(root, max_bytes=limit)
    assert done.returncode == 0, done.stderr
    assert _rows(root) == before
    merged, kept = table_files(root, "micro_turn")
    assert kept == third and not first.exists() and not second.exists()
    sessions = pq.read_table(merged, partitioning=None, columns=["session_id"]).column(0).to_pylist()
    assert sessions == sorted(sessions) and len(sessions) == 6 * 30
    assert not _leftovers(root)


@pytest.mark.parametrize("fault", ["after_record", "after_output"])
def test_a_compaction_killed_midway_is_finished_or_undone_exactly_once(tmp_path: Path, fault: str) -> None:
    root = _archive(tmp_path)
    before, chain = _rows(root), load_session(root, "s0000025")
    killed = _compact(root, fault)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert list((root / STATE_DIR).glob("compact-*.json"))  # the merge was cut short
    done = _compact(root)  # a fresh process: recovers, then merges
    assert done.returncode == 0, done.stderr
    assert _rows(root) == before and load_session(root, "s0000025") == chain
    assert all(len(table_files(root, name)) == 1 for name in ("micro_turn", "audio_chunk", "model_output"))
    assert not _leftovers(root)
    con = connect(root)
    try:
        assert con.execute("SELECT count(*) FROM _archived_micro_turn").fetchone() == (9 * 30,)
    finally:
        con.close()


def test_compaction_refuses_while_an_archiver_holds_the_archive(tmp_path: Path) -> None:
    root = _archive(tmp_path)
    store = CheckpointStore(root)
    store.lock()
    done = _compact(root)
    assert done.returncode != 0 and "another archiver owns" in done.stderr
    assert len(table_files(root, "micro_turn")) == 3


def test_an_unreadable_file_fails_with_archive_error_naming_it(tmp_path: Path) -> None:
    """A zero-byte or damaged `.parquet` among a folder's files: ArchiveError naming it (no traceback),
    no merge record left behind, its folder's other files as they were; without it, compaction
    then merges every row once."""
    root = _archive(tmp_path)
    expected = _rows(root)
    [first, *_] = table_files(root, "model_output")
    parts = first.name.split("-")
    planted = first.with_name("-".join([parts[0], "0" * (len(parts[1]) - 1), *parts[2:]]))  # sorts first
    for damage in (b"", b"PAR1 not parquet PAR1"):
        planted.write_bytes(damage)
        folder = {p: p.read_bytes() for p in planted.parent.iterdir()}
        done = _compact(root)
        assert done.returncode != 0 and "IndexError" not in done.stderr
        assert done.stderr.rstrip().splitlines()[-1].startswith("processors.archiver.errors.ArchiveError: compact: ")
        assert f"cannot read {planted.relative_to(root)}" in done.stderr
        assert not list((root / STATE_DIR).glob("compact-*.json"))
        assert {p: p.read_bytes() for p in planted.parent.iterdir()} == folder
        planted.unlink()
    assert _compact(root).returncode == 0
    assert _rows(root) == expected and len(table_files(root, "model_output")) == 1
