"""Fresh-process benchmarks run Python the way an installed `microturn` runs: with bytecode cached.

Python compiles each module's source to bytecode on first import and caches it (`__pycache__`), so
a user's second command starts from `.pyc` files. A machine that sets PYTHONDONTWRITEBYTECODE (this
one does) compiles every module of every process from source instead: 80-180 ms more per command
here, none of which a user meets. `cache_bytecode` lets the benchmark's child processes (and plain
DuckDB's, alike) write and read bytecode under a folder of the benchmark's own.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_bytecode(folder: Path) -> str:
    """Child processes started from now on cache bytecode under `folder`; a line saying so, to print."""
    was = os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(folder)
    unset = " (PYTHONDONTWRITEBYTECODE, set here, unset for them)" if was else ""
    return f"bytecode: cached under {folder}, as an installed microturn has it{unset}; --no-bytecode-cache: compile"
