"""Speech segments kept beside the archive: who spoke when, computed once per archived file.

The caller's and the model's segments (`replay.analytics.shape`) take every turn of a session in
order: a window over millions of rows, most of what the fleet aggregate cost (~0.3 s of its
~0.75 s over 10 M events here). A session's segments change only when a file holding its rows is
added, so they are kept in `<archive>/_analytics/segments.parquet`, sorted by session (small row
groups: a question about one session reads one), and that file's footer names the table files it
was computed from, with their sizes and modification times. Every `connect` calls `refresh`:

- nothing added: nothing to do (one footer read);
- files added (the archiver only ever adds files): the sessions found in the new files are
  computed again, from all their rows; every other session's rows are copied;
- a file changed or gone (compaction, a deletion), another definition of the segments or a file
  that cannot be read: every session is computed again.

The new file is written under a temporary dot-name and renamed into place, so a reader sees the
old file or the new one, each with the footer that describes it; a crash leaves the old one. Two
commands that refresh at once both write a correct file; the last rename wins. Like the report's
timings, segments hold turn numbers and latencies, never what was said; `microturn erase` leaves
them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import duckdb

from replay.analytics.listing import added_since, duckdb_path, listing
from replay.analytics.shape import segments_sql

PATH = Path("_analytics") / "segments.parquet"
"""The kept segments, below the archive root (a `_` folder: not archive data)."""
TABLES = ("audio_chunk", "model_output")
"""The archive tables segments are computed from."""
_KEY = "microturn.segments"
"""The footer key-value entry holding what the file was computed from."""
_ROW_GROUP = 8192


def _definition() -> str:
    """Changes when the segments' SQL or DuckDB does: kept segments of another definition are recomputed."""
    return hashlib.sha256(f"{duckdb.__version__}\n{segments_sql()}".encode()).hexdigest()[:16]


def _kept_state(con: duckdb.DuckDBPyConnection, path: Path) -> dict[str, object] | None:
    """What the kept file at `path` was computed from; None if there is none or it cannot be read."""
    if not path.is_file():
        return None
    try:
        kept = _quoted(duckdb_path(path))  # no bound parameters: binding any imports decimal, uuid and more (~10 ms)
        sql = f"SELECT decode(value) FROM parquet_kv_metadata('{kept}') WHERE decode(key) = '{_KEY}'"
        rows = con.execute(sql).fetchall()
        state = json.loads(rows[0][0]) if rows else None
    except (duckdb.Error, ValueError, UnicodeDecodeError):
        return None
    return state if isinstance(state, dict) else None


def _added(kept: dict[str, object], now: dict[str, Any]) -> list[str] | None:
    """Paths (relative to the root) of files in `now` that `kept` lacks; None unless `now` only adds files."""
    before = kept.get("files")
    if kept.get("definition") != now["definition"] or not isinstance(before, dict) or set(before) != set(TABLES):
        return None
    added: list[str] = []
    for table in TABLES:
        new = added_since(before[table], now["files"][table])
        if new is None:
            return None
        added += new
    return added


def refresh(
    con: duckdb.DuckDBPyConnection, root: Path, files: dict[str, list[str]], tables: list[tuple[str, str]]
) -> Path | None:
    """Bring the kept segments of the archive at `root` up to date; their path, or None if they cannot
    be kept (an archive the user cannot write to: the caller then computes segments as needed).

    `files` are the table files the views read (for every table in `TABLES`), `tables` the views'
    (name, SELECT) pairs, which the computation runs as CTEs over exactly those files.
    """
    path = root / PATH
    now: dict[str, Any] = {
        "definition": _definition(),
        "files": {table: listing(root, files.get(table, [])) for table in TABLES},
    }
    kept = _kept_state(con, path)
    added = _added(kept, now) if kept else None
    if added == []:
        return path
    ctes = "WITH " + ",\n".join(f"{name} AS ({body})" for name, body in tables)
    params: dict[str, object] = {}
    if added is None:  # every session: ordered across sessions at once, the cheaper window
        select = f"{ctes}\nSELECT * FROM ({segments_sql(partitioned=False)})"
    else:  # the sessions in the added files, from all their rows; the others' segments as kept
        touched = "(SELECT DISTINCT session_id FROM read_parquet($added, union_by_name = true))"
        audio = f"(SELECT * FROM audio_chunks WHERE session_id IN {touched})"
        outputs = f"(SELECT * FROM outputs WHERE session_id IN {touched})"
        select = (
            f"{ctes}\nSELECT * FROM read_parquet($kept) WHERE session_id NOT IN {touched}\n"
            f"UNION ALL SELECT * FROM ({segments_sql(audio, outputs)})"
        )
        params = {"added": [duckdb_path(root / a) for a in added], "kept": duckdb_path(path)}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    state = json.dumps(now).replace("'", "''")
    try:
        path.parent.mkdir(exist_ok=True)
        tmp.unlink(missing_ok=True)  # written afresh, never through whatever is at that name
        con.execute(
            f"COPY ({select}\nORDER BY session_id, speaker, start_turn) TO '{_quoted(tmp)}' "
            f"(FORMAT parquet, ROW_GROUP_SIZE {_ROW_GROUP}, KV_METADATA {{'{_KEY}': '{state}'}})",
            params,
        )
        os.replace(tmp, path)
    except (OSError, duckdb.Error) as exc:  # unwritable, or the kept file damaged past its footer
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
            if isinstance(exc, duckdb.Error) and not isinstance(exc, duckdb.IOException | duckdb.PermissionException):
                path.unlink(missing_ok=True)  # computed afresh next time
        return None
    return path


def _quoted(path: Path | str) -> str:
    return str(path).replace("'", "''")
