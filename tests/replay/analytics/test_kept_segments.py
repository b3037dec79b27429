"""Segments kept beside the archive (`_analytics/segments.parquet`) always equal the segments computed
from the archive's rows: after files are added (a session continued in a new file, a redelivery),
changed or removed, and when the kept file is damaged or cannot be written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from benchmarks.query_archive_data import write_batch
from processors.archiver.files import table_files
from replay.analytics import connect, kept_segments
from replay.analytics.shape import KEPT, segments_sql

Rows = list[tuple[object, ...]]


def _kept_and_computed(root: Path) -> tuple[Rows, Rows]:
    """The segments every view reads, and the same computed from the rows (one connection)."""
    con = connect(root)
    try:
        kept = con.execute(f"SELECT * FROM {KEPT} ORDER BY ALL").fetchall()
        computed = con.execute(f"SELECT * FROM ({segments_sql()}) ORDER BY ALL").fetchall()
    finally:
        con.close()
    return kept, computed


def _footer_files(root: Path) -> list[str]:
    """The table files the kept file says it was computed from."""
    [value] = pq.read_metadata(root / kept_segments.PATH).metadata[b"microturn.segments"].splitlines()
    state = json.loads(value)
    return sorted(str(f[0]) for files in state["files"].values() for f in files)


def _split_by_turn(staging: Path, root: Path, turn: int, later: bool) -> None:
    """Copy each file of `staging` into `root`: its rows before `turn`, or (`later`) the others, under
    another file name; so a session's rows arrive in two files, as a live session's do."""
    for src in staging.rglob("*.parquet"):
        table = pq.read_table(src, partitioning=None)
        if "turn" not in table.column_names:
            if not later:
                (root / src.relative_to(staging)).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(src, root / src.relative_to(staging))
            continue
        keep = pc.greater_equal(table["turn"], turn) if later else pc.less(table["turn"], turn)
        dest = root / src.relative_to(staging)
        if later:
            dest = dest.with_name(dest.name.replace("-bench", "-later"))
        dest.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table.filter(keep), dest)


def test_kept_segments_follow_files_added_changed_and_removed(tmp_path: Path) -> None:
    root, staging = tmp_path / "archive", tmp_path / "staging"
    write_batch(root, 0, sessions=4, turns=120, seed=5)
    write_batch(staging, 10, sessions=3, turns=160, seed=6)
    _split_by_turn(staging, root, 80, later=False)  # sessions 10-12, turns 0-79
    first, computed = _kept_and_computed(root)
    assert first == computed != []
    assert _footer_files(root) == sorted(
        str(p.relative_to(root)) for t in kept_segments.TABLES for p in table_files(root, t)
    )

    _split_by_turn(staging, root, 80, later=True)  # the same sessions go on in new files: turns 80-159
    write_batch(root, 20, sessions=2, turns=100, seed=7)  # and two new sessions
    continued, computed = _kept_and_computed(root)
    assert continued == computed != first
    assert {r[0] for r in continued} == {r[0] for r in first} | {"s0000020", "s0000021"}
    assert [r for r in continued if r[0] < "s0000010"] == [r for r in first if r[0] < "s0000010"]

    [outputs] = (root / "model_output").glob("date=*/hour=00/*-bench*.parquet")
    table = pq.read_table(outputs, partitioning=None)  # a redelivery: the same outputs later in the log
    offsets = pc.add(table["kafka_offset"], pa.scalar(1_000_000, pa.int64()))
    index = table.schema.get_field_index("kafka_offset")
    pq.write_table(
        table.set_column(index, table.schema.field(index), offsets), outputs.with_name("x-redelivered.parquet")
    )
    assert _kept_and_computed(root)[0] == continued  # each output counted once

    speak = pc.equal(table["action"], "SPEAK")  # a file rewritten in place (what compaction does)
    pq.write_table(table.filter(pc.invert(speak)), outputs)
    outputs.with_name("x-redelivered.parquet").unlink()
    rewritten, computed = _kept_and_computed(root)
    assert rewritten == computed and rewritten != continued
    for path in (root / "audio_chunk").rglob("*-later*.parquet"):  # files removed
        path.unlink()
    removed, computed = _kept_and_computed(root)
    assert removed == computed and removed != rewritten


def test_a_damaged_or_unwritable_kept_file_changes_no_answer(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    write_batch(root, 0, sessions=3, turns=100, seed=8)
    expected, _ = _kept_and_computed(root)
    (root / kept_segments.PATH).write_bytes(b"PAR1 not parquet PAR1")
    assert _kept_and_computed(root) == (expected, expected)  # written again
    assert pq.read_table(root / kept_segments.PATH).num_rows == len(expected)
    damaged = bytearray((root / kept_segments.PATH).read_bytes())  # pages garbled, the footer intact
    damaged[4:200] = bytes(196)
    (root / kept_segments.PATH).write_bytes(bytes(damaged))
    write_batch(root, 5, sessions=1, turns=50, seed=9)  # an added file: the damaged rows are read to be kept
    more, computed = _kept_and_computed(root)  # computed in memory this time, written afresh next time
    assert more == computed and len(more) > len(expected)
    assert _kept_and_computed(root) == (more, more) and pq.read_table(root / kept_segments.PATH).num_rows == len(more)
    shutil.rmtree(root / kept_segments.PATH.parent)
    (root / kept_segments.PATH.parent).write_text("")  # nothing can be kept: computed as needed
    assert _kept_and_computed(root) == (more, more)


def _answers(root: Path) -> tuple[object, ...]:
    con = connect(root)
    try:
        counts = con.execute("SELECT (SELECT count(*) FROM outputs), (SELECT count(*) FROM sessions)").fetchone()
        kept = con.execute(f"SELECT * FROM {KEPT} ORDER BY ALL").fetchall()
    finally:
        con.close()
    return counts, kept


def test_an_archive_root_with_glob_characters_reads_its_own_files_only(tmp_path: Path) -> None:
    """DuckDB reads a path as a glob pattern: an archive at `a*`, `q?` or `g[1]` must not read the files
    of `ab`, `qx` or `g1` beside it (same file names, other rows), neither when the views and the kept
    segments are made nor when files are added."""
    for name, other in (("a*", "ab"), ("q?", "qx"), ("g[1]", "g1")):
        root, decoy, plain = tmp_path / name, tmp_path / other, tmp_path / f"plain-{other}"
        for path in (root, plain):
            write_batch(path, 0, sessions=2, turns=40, seed=1)
        write_batch(decoy, 0, sessions=3, turns=60, seed=2)
        _answers(decoy)  # the decoy's own kept segments and caches exist too
        assert _answers(root) == _answers(plain)
        for path in (root, plain, decoy):  # files added: the incremental paths
            write_batch(path, 5, sessions=1, turns=30, seed=3)
        assert _answers(root) == _answers(plain)
