"""DuckDB views over the Parquet archive: one per event type, plus the conversation's shape.

Event views (each with `session_id`, and `turn` where events have one; every archived column,
plus `date` and `hour` from the partition folders):

    sessions            one row per session: SessionStarted joined with SessionEnded
    audio_chunks        caller audio, with `rms` (0..1) so nobody needs to read the samples
    video_frames, text_events, turns (MicroTurns), outputs (ModelOutputs, with `audio_rms`),
    background_tasks, background_results, dead_letters

Derived views describe the conversation's shape; see `replay.analytics.shape`.

Every table view holds each event once: delivery is at least once and a session id may be reused
by mistake, so the log can hold an event id twice; the first record by log offset is kept (the
one consumers acted on), in the table views and so in every view and report built on them.

Creating the views costs no file scan and no schema inference at each command: the file list
and the column types are taken from `_analytics/views.json` under the archive root, a cache keyed
by every table file's name, size and modification time (`replay.analytics.listing`, and by the
table definitions' source files); when they change, the next command that connects brings the
cache up to date. The event ids that occur twice are rare, so the cache lists the sessions that
hold any; the table views apply the first-by-offset window to those sessions only and read every
other session's rows as they are. Finding them takes one narrow scan of a table's event ids when
a file changed or went (~2 s over 10 M events here), and only the sessions found in the new files
when files were added, as the archiver does every few seconds (~20 ms a table).

The views themselves are kept in a DuckDB catalog file beside the cache
(`_analytics/views-<key>.duckdb`, the key hashing their SQL and DuckDB's version), attached
read-only, so a command neither creates nor binds them (~70 ms of every command before). The
speech segments the shape views read are kept too (`replay.analytics.kept_segments`). An archive
the user cannot write to is read the same way, the cache then being rebuilt, the views created in
memory and the segments computed as needed at every command.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import duckdb

from processors.archiver.files import table_files
from replay.analytics import kept_segments
from replay.analytics.listing import added_since, duckdb_path, listing
from replay.analytics.shape import KEPT, segments_sql, shape_views
from replay.errors import ReplayError

CACHE = Path("_analytics") / "views.json"
"""The view cache, under the archive root (a `_` folder: not archive data, see `processors.archiver.files`)."""
CATALOG_PREFIX = "views-"
"""`_analytics/views-<key>.duckdb`: the views as a DuckDB catalog; the key hashes their SQL and DuckDB's version."""
_CACHE_VERSION = 2
_DEFINITIONS = ("processors.archiver.tables", "schemas.events", "schemas.arrow", "schemas.envelope")
"""Modules that define the tables' columns: the cache is rebuilt when their source changes."""

EVENT_VIEWS = {
    "audio_chunks": "audio_chunk",
    "video_frames": "video_frame",
    "text_events": "text_event",
    "turns": "micro_turn",
    "outputs": "model_output",
    "background_tasks": "background_task",
    "background_results": "background_result",
    "dead_letters": "dead_letter",
}
"""Friendly view name -> archive table."""

_SESSIONS = """
CREATE VIEW sessions AS
SELECT session_id, s.source, s.has_audio, s.has_video, s.media, s.metadata,
       make_timestamp((s.wall_time_ns // 1000)::BIGINT) AS started_at, e.reason AS end_reason, e.turns,
       e.audio_chunks, e.event_time_ms AS duration_ms, e.detail,
       make_timestamp((e.wall_time_ns // 1000)::BIGINT) AS ended_at
FROM session_started s FULL OUTER JOIN session_ended e USING (session_id)
"""


_WINDOW = "PARTITION BY session_id, event_id ORDER BY kafka_partition, kafka_offset"
"""One row per event id, the first by log offset (`session_id` leads: an event id names its session)."""


def _sql_list(items: list[str]) -> str:
    return "[" + ", ".join("'" + item.replace("'", "''") + "'" for item in items) + "]"


def _definitions_key() -> list[object]:
    key: list[object] = []
    for module in _DEFINITIONS:
        spec = find_spec(module)
        origin = spec.origin if spec else None
        st = os.stat(origin) if origin else None
        key.append([module, st.st_size, st.st_mtime_ns] if st else [module])
    return key


def _columns(con: duckdb.DuckDBPyConnection, name: str) -> list[list[str]]:
    """(name, DuckDB type) of table `name`'s columns, from its Arrow schema plus the folder columns."""
    import pyarrow as pa

    from processors.archiver.tables import TABLES

    schema = TABLES[name].schema.append(pa.field("date", pa.date32())).append(pa.field("hour", pa.int64()))
    con.register("_schema_probe", schema.empty_table())
    try:
        return [[str(row[0]), str(row[1])] for row in con.execute("DESCRIBE _schema_probe").fetchall()]
    finally:
        con.unregister("_schema_probe")


def _source(files: list[Path], columns: list[list[str]]) -> str:
    """A SELECT over `files` with exactly `columns`; files of older schema versions are read by column
    name, columns they lack being NULL."""
    if not files:
        return "SELECT " + ", ".join(f'NULL::{t} AS "{c}"' for c, t in columns) + " WHERE false"
    fingerprints = {p.name.split("-")[2] if p.name.count("-") >= 3 else "" for p in files}
    return (
        f"SELECT * FROM read_parquet({_sql_list([duckdb_path(f) for f in files])}, hive_partitioning = true, "
        f"union_by_name = {len(fingerprints) > 1})"
    )


def _duplicated_sessions(con: duckdb.DuckDBPyConnection, source: str, among: list[str] | None = None) -> list[str]:
    """Sessions of `source` holding an event id twice; only those found in the files `among`, if given."""
    scope = "" if among is None else "WHERE session_id IN (SELECT session_id FROM read_parquet($among))"
    rows = con.execute(
        f"SELECT DISTINCT session_id FROM ({source}) {scope} GROUP BY session_id, event_id HAVING count(*) > 1",
        {} if among is None else {"among": among},
    ).fetchall()
    return [str(row[0]) for row in rows]


_NAME = re.compile(r"[a-z_][a-z0-9_]*\Z")
_COLUMN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_TYPE = re.compile(r"[A-Za-z0-9_ ,()\[\]]+\Z")
"""A DuckDB type as DESCRIBE names the tables' (VARCHAR[], MAP(VARCHAR, VARCHAR)): no quote, no `;`, no
comment, so a cached type pasted into a statement can never end it or name a file."""


def _valid_entry(entry: object) -> bool:
    """Whether `entry` has the shape `_entries` writes, with names and types that are safe in SQL text."""
    if not isinstance(entry, dict):
        return False
    listing, columns, duplicated = entry.get("listing"), entry.get("columns"), entry.get("duplicated")
    return (
        isinstance(listing, list)
        and isinstance(duplicated, list)
        and all(isinstance(s, str) for s in duplicated)
        and isinstance(columns, list)
        and bool(columns)
        and all(
            isinstance(c, list)
            and len(c) == 2
            and isinstance(c[0], str)
            and isinstance(c[1], str)
            and _COLUMN.match(c[0]) is not None
            and _TYPE.match(c[1]) is not None
            for c in columns
        )
    )


def _load_cache(root: Path) -> dict[str, Any]:
    """The cache document; {} (built again) if it is not one `_entries` writes (a hand-edited or planted file)."""
    try:
        doc = json.loads((root / CACHE).read_text())
    except (OSError, ValueError):
        return {}
    ok = isinstance(doc, dict) and doc.get("version") == _CACHE_VERSION and isinstance(doc.get("tables"), dict)
    if not ok:
        return {}
    tables = doc["tables"]
    return doc if all(_NAME.match(n) and _valid_entry(e) for n, e in tables.items()) else {}


def _save_cache(root: Path, doc: dict[str, Any]) -> None:
    """Write the cache atomically; an archive the user cannot write to is left as it is."""
    path = root / CACHE
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(exist_ok=True)
        tmp.write_text(json.dumps(doc))
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):  # e.g. NotADirectoryError: the cache folder is not a folder
            tmp.unlink(missing_ok=True)


def _table_names(cached: dict[str, Any]) -> list[str]:
    if cached.get("definitions") == _definitions_key():
        return list(cached["tables"])
    from processors.archiver.tables import TABLES

    return list(TABLES)


def _entries(con: duckdb.DuckDBPyConnection, root: Path) -> tuple[dict[str, Any], bool]:
    """The cache document of the archive at `root` (files, columns, duplicated sessions per table), and
    whether it differs from the one saved; a cache miss scans the changed tables' event ids once."""
    cached = _load_cache(root)
    fresh = cached.get("definitions") == _definitions_key()
    doc: dict[str, Any] = {"version": _CACHE_VERSION, "definitions": _definitions_key(), "tables": {}}
    changed = not fresh
    for name in _table_names(cached):
        files = table_files(root, name)  # the very files the audit verifier checks
        now = listing(root, files)
        entry = cached["tables"].get(name) if fresh else None
        if not isinstance(entry, dict) or entry.get("listing") != now:
            before: dict[str, Any] = entry if isinstance(entry, dict) else {}
            columns = before.get("columns") or _columns(con, name)
            known: list[str] | None = before.get("duplicated")
            added = added_since(before.get("listing"), now)
            source = _source(files, columns)
            if added is None or not isinstance(known, list):  # the table from scratch
                duplicated = _duplicated_sessions(con, source)
            else:  # only files were added: only sessions found in them can have gained a duplicate
                found = _duplicated_sessions(con, source, [duckdb_path(root / a) for a in added]) if added else []
                duplicated = [*known, *found]
            entry = {"listing": now, "columns": columns, "duplicated": sorted(set(duplicated))}
            changed = True
        entry["paths"] = [str(f) for f in files]
        doc["tables"][name] = entry
    return doc, changed


def table_views(doc: dict[str, Any], only: tuple[str, ...] | None = None) -> list[tuple[str, str]]:
    """(view name, SELECT) of every table and event view (or those of the tables `only`), in order (each
    may use the ones before it), for the archive that `doc` describes: the views, or the CTEs of a
    statement that runs without them."""
    views = []
    for name, entry in doc["tables"].items():
        if only is not None and name not in only:
            continue
        views.append((f"_archived_{name}", _source([Path(p) for p in entry["paths"]], entry["columns"])))
        dup = entry["duplicated"]
        if dup:  # the first record per event id, for the few sessions that hold an id twice
            views.append(
                (
                    name,
                    f"SELECT * FROM _archived_{name} WHERE session_id NOT IN (SELECT unnest({_sql_list(dup)})) "
                    f"UNION ALL (SELECT * FROM _archived_{name} WHERE session_id IN (SELECT unnest({_sql_list(dup)})) "
                    f"QUALIFY row_number() OVER ({_WINDOW}) = 1)",
                )
            )
        else:
            views.append((name, f"SELECT * FROM _archived_{name}"))
    views += [(view, f"SELECT * FROM {t}") for view, t in EVENT_VIEWS.items() if only is None or t in only]
    return views


def _statements(doc: dict[str, Any], kept: str) -> list[str]:
    """Every CREATE VIEW, in order, for the archive that `doc` describes; `kept` is the SELECT of the
    kept segments (`shape.KEPT`)."""
    statements = [f"CREATE VIEW {name} AS {body}" for name, body in table_views(doc)]
    statements.append(_SESSIONS)
    statements.append(f"CREATE VIEW {KEPT} AS {kept}")
    statements += [f"CREATE VIEW {name} AS {body}" for name, body in shape_views().items()]
    return statements


def _build_catalog(path: Path, statements: list[str]) -> None:
    """Write the views into the DuckDB database file `path`, atomically (a temporary dot-name, renamed);
    older catalogs beside it are removed. OSError or duckdb.Error if it cannot be written."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(exist_ok=True)
        tmp.unlink(missing_ok=True)
        built = duckdb.connect(str(tmp))
        try:
            for statement in statements:
                built.execute(statement)
        finally:
            built.close()
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
        tmp.with_name(tmp.name + ".wal").unlink(missing_ok=True)
    for stale in path.parent.glob(f"{CATALOG_PREFIX}*.duckdb"):
        if stale != path:
            stale.unlink(missing_ok=True)


def _attach_catalog(con: duckdb.DuckDBPyConnection, root: Path, statements: list[str]) -> bool:
    """Attach the views from the persistent catalog of these `statements`, read-only, as database
    `archive` behind the connection's own in-memory one; False if that cannot be done.

    A missing catalog is built; one that cannot be attached (damaged) is built again, once.
    """
    digest = hashlib.sha256("\n".join([duckdb.__version__, *statements]).encode()).hexdigest()[:16]
    path = root / CACHE.parent / f"{CATALOG_PREFIX}{digest}.duckdb"
    for attempt in range(2):
        try:
            if attempt or not path.is_file():
                _build_catalog(path, statements)
            con.execute(f"ATTACH {_sql_list([str(path)])[1:-1]} AS archive (READ_ONLY)")
        except (OSError, duckdb.Error):
            continue
        con.execute("SET search_path = 'memory.main,archive.main'")
        return True
    return False


def connect(root: Path, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with every view over the archive at `root`.

    The views live in `_analytics/views-<key>.duckdb`, a DuckDB database attached read-only and on
    the search path (so a command opens them without creating and binding them again); the
    connection's own database is in memory, so what a caller creates stays in memory. An archive
    whose catalog cannot be written or read gets the same views created in memory.
    """
    if not root.is_dir():
        raise ReplayError(f"no archive at {root}: start an archiver (`microturn archive run`) or pass --archive")
    # the views name the files by path: one spelling of the root (relative, through a symlink, ...) for
    # every command, or each other spelling would build the catalog again (and remove the last one)
    named, root = root, root.resolve()
    con = duckdb.connect(config={"threads": threads} if threads else {})
    try:
        doc, changed = _entries(con, root)
        only = kept_segments.TABLES
        files = {name: doc["tables"][name]["paths"] for name in only if name in doc["tables"]}
        kept = kept_segments.refresh(con, root, files, table_views(doc, only))
        statements = _statements(
            doc, f"SELECT * FROM read_parquet({_sql_list([duckdb_path(kept)])[1:-1]})" if kept else segments_sql()
        )
        if changed:
            _save_cache(
                root,
                {**doc, "tables": {n: {k: v for k, v in e.items() if k != "paths"} for n, e in doc["tables"].items()}},
            )
        if not _attach_catalog(con, root, statements):
            for statement in statements:
                con.execute(statement)
    except (duckdb.Error, OSError) as exc:  # OSError: e.g. a file removed while listed (a compaction)
        con.close()
        raise ReplayError(f"reading the archive at {named} failed: {exc}") from exc
    return con


def query(root: Path, sql: str, params: list[object] | None = None) -> tuple[list[str], list[tuple[object, ...]]]:
    """Run `sql` over the archive's views; (column names, rows). ReplayError naming DuckDB's complaint."""
    con = connect(root)
    try:
        result = con.execute(sql, params or [])
        columns = [d[0] for d in result.description or ()]
        return columns, result.fetchall()
    except duckdb.Error as exc:
        raise ReplayError(f"query failed: {exc}") from exc
    finally:
        con.close()
