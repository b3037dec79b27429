"""Which files make up an archive table: one listing for everything that reads the archive.

The DuckDB views (`replay.analytics.views`) and the audit verifier (`replay.audit.archived`) both
read exactly `table_files()`, so a row the views show is a row the verifier checks. Files or
folders below the table's folder whose names start with `.` or `_` are not part of the archive
(the archiver writes temporaries as `.name.tmp` and keeps its own state in `_archiver/`); a
Parquet file planted under such a name is neither shown nor verified.
"""

from __future__ import annotations

from pathlib import Path

HIDDEN_PREFIXES = (".", "_")
"""Name prefixes (of a file or of any folder under the table folder) that are not archive data."""


def table_files(root: Path, table: str) -> list[Path]:
    """The archive's Parquet files of `table` under `root`, sorted; [] when there are none."""
    folder = root / table
    if not folder.is_dir():
        return []
    return sorted(
        path
        for path in folder.rglob("*.parquet")
        if path.is_file() and not any(part.startswith(HIDDEN_PREFIXES) for part in path.relative_to(folder).parts)
    )
