"""What an archive table's files were when something was derived from them, and what was added since.

The archiver only ever adds files; compaction and deletions rewrite or remove them. Things derived
from the archive (`replay.analytics.views`' cache, `replay.analytics.kept_segments`) keep the
listing they were derived from, and bring themselves up to date from the files added since, or
from scratch when any other change happened.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

Listing = list[list[object]]
"""[path relative to the root, size, mtime_ns] per file, as JSON keeps it."""


def listing(root: Path, paths: Iterable[str | Path]) -> Listing:
    """The listing of `paths` (files under `root`)."""
    found: Listing = []
    for path in paths:
        st = os.stat(path)
        found.append([os.path.relpath(path, root), st.st_size, st.st_mtime_ns])
    return found


def added_since(before: object, now: Listing) -> list[str] | None:
    """Paths (relative to the root) of the files in `now` that `before` lacks, sorted; None unless
    `now` is `before` plus new files (a file changed or gone, or `before` is not a listing)."""
    if not isinstance(before, list) or not all(_is_entry(f) for f in before):
        return None
    old = {tuple(f) for f in before}
    new = {tuple(f) for f in now}
    if not old <= new:
        return None
    return sorted(str(f[0]) for f in new - old)


def _is_entry(entry: object) -> bool:
    return (
        isinstance(entry, list)
        and len(entry) == 3
        and isinstance(entry[0], str)
        and all(isinstance(n, int) and not isinstance(n, bool) for n in entry[1:])
    )


_GLOB = str.maketrans({"*": "[*]", "?": "[?]", "[": "[[]"})


def duckdb_path(path: str | Path) -> str:
    """`path` as DuckDB's file readers take it to mean that one file: they read every path as a glob
    pattern (an archive at `a*` or `g[1]` would read `ab`'s or `g1`'s files), so `*`, `?` and `[` are
    each put in brackets."""
    text = str(path)
    return text.translate(_GLOB) if "*" in text or "?" in text or "[" in text else text
