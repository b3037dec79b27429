"""The command line imports only what a command uses: `--help` and `query` load no Kafka client,
no Triton client, no torch, no plotting, and not even asyncio, msgspec, structlog or
importlib.metadata (start-up time; see benchmarks/query_fleet.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from benchmarks.query_archive_data import write_batch

HEAVY = ("torch", "faust", "aiokafka", "matplotlib", "tritonclient", "av", "rich")
LEAN = ("asyncio", "msgspec", "structlog", "importlib.metadata", "pyarrow", "numpy")
"""Not heavy, but 20-60 ms each at start-up, which `--help` and a query over a cached archive never use."""


def _imported(code: str, modules: tuple[str, ...] = HEAVY) -> list[str]:
    probe = f"import sys\n{code}\nprint(sorted(m for m in {modules!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return list(eval(done.stdout.strip().splitlines()[-1]))


def test_help_imports_nothing_heavy() -> None:
    code = "from infra.cli.main import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass"
    assert _imported(code) == []
    assert _imported(code, LEAN) == []


def test_query_imports_nothing_heavy(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    write_batch(root, 0, sessions=2, turns=20, seed=0)
    args = ["query", "--json", "SELECT count(*) FROM turns", "--archive", str(root)]
    code = f"from infra.cli.main import main\nassert main({args!r}) == 0"
    assert _imported(code) == []
    lean = tuple(m for m in LEAN if m != "importlib.metadata")  # duckdb itself imports importlib.metadata
    assert _imported(code, lean) == []  # the view cache exists now: no Arrow schema is derived
