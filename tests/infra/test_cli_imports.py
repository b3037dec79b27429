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
STDLIB = ("dataclasses", "inspect", "statistics", "uuid", "platform", "decimal", "csv", "threading", "schemas.topics")
"""Standard modules of 2-12 ms each (dataclasses pulls inspect) that the commands import when they run, not to parse."""


def _imported(code: str, modules: tuple[str, ...] = HEAVY) -> list[str]:
    probe = f"import sys\n{code}\nprint(sorted(m for m in {modules!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return list(eval(done.stdout.strip().splitlines()[-1]))


def test_help_imports_nothing_heavy() -> None:
    code = "from infra.cli.main import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass"
    assert _imported(code) == []
    assert _imported(code, LEAN) == []
    assert _imported(code, STDLIB) == []


def test_query_imports_nothing_heavy(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    write_batch(root, 0, sessions=2, turns=20, seed=0)
    args = ["query", "--json", "SELECT count(*) FROM turns", "--archive", str(root)]
    code = f"from infra.cli.main import main\nassert main({args!r}) == 0"
    assert _imported(code) == []
    lean = tuple(m for m in LEAN if m != "importlib.metadata")  # duckdb itself imports importlib.metadata
    assert _imported(code, lean) == []  # the view cache exists now: no Arrow schema is derived
    stdlib = tuple(m for m in STDLIB if m not in ("csv", "threading"))  # duckdb itself imports these two
    assert _imported(code, (*stdlib, "replay.analytics.report", "replay.analytics.fleet")) == []


def test_report_fleet_with_kept_scores_sets_up_no_logging(tmp_path: Path) -> None:
    """The turn-taking headline reads kept scores without structlog (and rich, which it would pull in)."""
    root = tmp_path / "archive"
    write_batch(root, 0, sessions=3, turns=20, seed=0)
    code = (
        "from pathlib import Path\n"
        "from replay.evaluation.fleet import archived_sessions\n"
        "from replay.evaluation.metrics import Tally\n"
        "from replay.evaluation.scores import ScoreCache, SessionScore\n"
        f"root = Path({str(root)!r})\n"
        "for s in archived_sessions(root):\n"
        "    ScoreCache(root).put(SessionScore(s, 'v1', False, Tally(sessions=1, duration_ms=4000, pauses=2)))\n"
        "from infra.cli.main import main\n"
        f"assert main(['report', '--fleet', '--json', '--archive', {str(root)!r}]) == 0"
    )
    assert _imported(code, ("structlog", "torch", *HEAVY)) == []


def test_asking_whether_a_session_was_erased_opens_no_key(tmp_path: Path) -> None:
    """A query over sessions and `report SESSION` say which sessions were erased from the key store's
    files alone: no cryptography, no msgspec (75 ms of their start-up when they came with the vault)."""
    root = tmp_path / "archive"
    write_batch(root, 0, sessions=2, turns=20, seed=0)
    flags = ["--archive", str(root), "--state-dir", str(tmp_path / "state")]
    _imported(f"from infra.cli.main import main\nassert main({['query', 'SELECT 1', *flags]!r}) == 0")  # caches built
    for args in (["query", "--json", "SELECT session_id, turn FROM turns", *flags], ["report", "s0000001", *flags]):
        code = f"from infra.cli.main import main\nassert main({args!r}) == 0"
        assert _imported(code, ("cryptography", "msgspec", "schemas.encryption", "streams.vault")) == []
