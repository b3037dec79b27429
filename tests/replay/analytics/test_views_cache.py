"""The view cache (`_analytics/views.json`): views cost no scan once built, and never serve stale rows."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from benchmarks.query_archive_data import write_batch
from replay.analytics import connect
from replay.analytics.views import CACHE, CATALOG_PREFIX


def _archive(tmp_path: Path) -> Path:
    root = tmp_path / "archive"
    write_batch(root, 0, sessions=3, turns=40, seed=1)
    return root


def _counts(root: Path) -> tuple[object, ...]:
    con = connect(root)
    try:
        row = con.execute(
            "SELECT (SELECT count(*) FROM outputs), (SELECT count(*) FROM sessions), "
            "(SELECT max(kafka_offset) FROM outputs WHERE session_id = 's0000001')"
        ).fetchone()
    finally:
        con.close()
    assert row is not None
    return tuple(row)


def test_a_file_added_after_the_cache_was_built_is_read_and_deduplicated(tmp_path: Path) -> None:
    root = _archive(tmp_path)
    before = _counts(root)
    assert before[:2] == (120, 3) and (root / CACHE).is_file()
    # the same outputs again, later in the log (a redelivery), in a new file of the same folder
    [path] = (root / "model_output").rglob("*.parquet")
    table = pq.read_table(path, partitioning=None)
    index = table.schema.get_field_index("kafka_offset")
    later = table.set_column(
        index, table.schema.field(index), pc.add(table.column(index), pa.scalar(1_000_000, pa.int64()))
    )
    pq.write_table(later, path.with_name(path.name.replace("-bench", "-redelivered")))
    assert _counts(root) == before  # every event once, the first by offset kept
    con = connect(root)
    try:
        assert con.execute("SELECT count(*) FROM _archived_model_output").fetchone() == (240,)
    finally:
        con.close()


def test_a_removed_file_is_not_read_from_the_cache(tmp_path: Path) -> None:
    root = _archive(tmp_path)
    assert _counts(root)[0] == 120
    for path in (root / "model_output").rglob("*.parquet"):
        path.unlink()
    assert _counts(root)[0] == 0


def test_a_corrupt_or_unwritable_cache_changes_nothing(tmp_path: Path) -> None:
    root = _archive(tmp_path)
    expected = _counts(root)
    (root / CACHE).write_text("{not json")
    assert _counts(root) == expected
    (root / CACHE).unlink()
    (root / CACHE).mkdir()  # cannot be replaced by a file: the views are built in memory
    assert _counts(root) == expected


def test_views_over_a_cached_archive_import_no_arrow_and_infer_no_schema(tmp_path: Path) -> None:
    root = _archive(tmp_path)
    _counts(root)
    probe = (
        "import sys; from pathlib import Path; from replay.analytics import connect; "
        f"con = connect(Path({str(root)!r})); print(con.execute('SELECT count(*) FROM video_frames').fetchone()[0], "
        "sorted(m for m in ('pyarrow', 'numpy', 'processors.archiver.tables') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["0", "[]"]


def _catalogs(root: Path) -> list[Path]:
    return sorted((root / CACHE.parent).glob(f"{CATALOG_PREFIX}*.duckdb"))


def test_views_are_attached_from_a_catalog_that_follows_the_archive(tmp_path: Path) -> None:
    root = _archive(tmp_path)
    expected = _counts(root)
    [catalog] = _catalogs(root)
    con = connect(root)
    try:
        attached = con.execute("SELECT database_name FROM duckdb_views() WHERE view_name = 'outputs'").fetchall()
        assert attached == [("archive",)]  # created once, in the catalog file, not in this connection
        con.execute("CREATE TABLE mine AS SELECT count(*) AS n FROM outputs")  # what a caller creates stays in memory
        assert con.execute("SELECT n FROM mine").fetchone() == (120,)
    finally:
        con.close()
    assert _counts(root) == expected and _catalogs(root) == [catalog]
    write_batch(root, 3, sessions=1, turns=40, seed=2)  # a new file: a new catalog, the old one removed
    assert _counts(root)[:2] == (160, 4)
    assert len(_catalogs(root)) == 1 and _catalogs(root) != [catalog]


def test_a_damaged_catalog_is_built_again_and_views_are_made_in_memory_without_one(tmp_path: Path) -> None:
    root = _archive(tmp_path)
    expected = _counts(root)
    [catalog] = _catalogs(root)
    catalog.write_bytes(b"not a duckdb file")
    assert _counts(root) == expected
    assert catalog.read_bytes() != b"not a duckdb file"  # built again
    shutil.rmtree(root / CACHE.parent)
    (root / CACHE.parent).write_text("")  # no catalog can be built: the views are created in memory
    assert _counts(root) == expected
    con = connect(root)
    try:
        assert con.execute("SELECT database_name FROM duckdb_views() WHERE view_name = 'outputs'").fetchall() == [
            ("memory",)
        ]
    finally:
        con.close()


def test_a_hand_edited_cache_is_rebuilt_and_runs_nothing_it_holds(tmp_path: Path) -> None:
    """A cache whose entries have the wrong shape is rebuilt (no KeyError or TypeError from a
    traceback), and column types or table names that are not plain SQL types or names are never
    pasted into a statement: a planted cache cannot make a query write outside the archive."""
    import json

    root = _archive(tmp_path)
    expected = _counts(root)
    good = json.loads((root / CACHE).read_text())
    empty = next(n for n, e in good["tables"].items() if not e["listing"])  # its views are made from the columns
    pwned = tmp_path / "pwned.csv"
    edits = [
        lambda t: t["model_output"].update(duplicated=5),
        lambda t: t["model_output"].pop("columns"),
        lambda t: t["model_output"].pop("duplicated"),
        lambda t: t.update(model_output=[1, 2]),
        lambda t: t[empty].update(columns=[["session_id", f"VARCHAR; COPY (SELECT 42) TO '{pwned}'; SELECT 1"]]),
        lambda t: t[empty].update(columns=[[f"x\"; COPY (SELECT 42) TO '{pwned}'; --", "VARCHAR"]]),
        lambda t: t.update({f"x AS SELECT 1; COPY (SELECT 42) TO '{pwned}'; --": good["tables"][empty]}),
    ]
    for edit in edits:
        doc = json.loads(json.dumps(good))
        edit(doc["tables"])
        (root / CACHE).write_text(json.dumps(doc))
        assert _counts(root) == expected
        assert not pwned.exists()


def test_one_catalog_serves_every_spelling_of_the_archive_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--archive archive`, `./archive`, an absolute path or one through a symlink name the same
    archive: the catalog built for one is attached for the others, never built again."""
    root = _archive(tmp_path)
    (tmp_path / "link").symlink_to(root)
    monkeypatch.chdir(tmp_path)
    expected = _counts(root)
    [catalog] = _catalogs(root)
    built = catalog.stat().st_ino, catalog.stat().st_mtime_ns
    for spelling in ("archive", "./archive", "link", str(root), "archive/../archive"):
        assert _counts(Path(spelling)) == expected
        assert _catalogs(root) == [catalog] and (catalog.stat().st_ino, catalog.stat().st_mtime_ns) == built
