"""`microturn query` and `microturn report` over 10 million archived events, beside plain DuckDB.

    .venv/bin/python benchmarks/query_fleet.py [--events 10000000] [--runs 5] [--archive DIR] [--timeout 120]

Generates the archive first (see `benchmarks/query_archive_data.py`; bounded memory, a temp dir
unless --archive names a folder, which is reused when it already holds data), then times each
command as a user runs it: a fresh `microturn` process (Python start-up, views, query, output).
Beside each, the same SQL run by plain DuckDB in a fresh process over the same files (`import
duckdb`, one `read_parquet` view per table, no de-duplication, no cache, the speech segments
computed from the rows in the fleet's one-window form where `microturn` reads the segments it
keeps beside the archive, `replay.analytics.kept_segments`), and the ratio of the medians: what
the command line costs over DuckDB itself. `report SESSION` is compared with the
session query, `report --fleet` with the fleet aggregate (by default it also runs the turn-taking
evaluation, `microturn eval`, over the 20 latest sessions: a VAD over their audio, ~2 s a
session; the first of these rows is one run with no scores kept, which scores them and keeps them
beside the archive, `replay.evaluation.scores`; the next rows read them; the last row is the fleet
report without turn-taking). The command and its plain counterpart run in turn.
Prints median, min and max over --runs, the load average
before and after (the machine is shared: compare ratios within one run), and the import time of
the command line (`python -X importtime`). One row times a session's query as the first command
after 30 new sessions' files arrive (as the archiver adds files every few seconds), the views
cache and the kept segments then being brought up to date from the added files.

Goals: --help < 0.3 s; a session's query and `report SESSION` < 0.3 s; the fleet aggregate and
`report --fleet` < 1 s; each within 1.5x of plain DuckDB.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bytecode import cache_bytecode
from benchmarks.query_archive_data import generate, write_batch
from processors.archiver.files import table_files
from processors.archiver.tables import TABLES
from replay.analytics.fleet import FLEET_SQL
from replay.analytics.shape import KEPT, segments_sql, shape_views
from replay.analytics.views import _SESSIONS, EVENT_VIEWS
from replay.evaluation.scores import FOLDER as SCORES

MICROTURN = [sys.executable, "-m", "infra.cli.main"]
SESSION = "s0000042"
SESSION_SQL = f"SELECT * FROM turn_activity WHERE session_id = '{SESSION}' ORDER BY turn"
FAILED = float("nan")


def plain_script(archive: Path, sql: str) -> str:
    """A program that runs `sql` with nothing but DuckDB: bare views over the same Parquet files."""
    statements = [
        f"CREATE VIEW {table.name} AS SELECT * FROM read_parquet('{table}/**/*.parquet', hive_partitioning = true)"
        for table in sorted(archive.iterdir())
        if table.is_dir() and not table.name.startswith(("_", "."))
    ]
    statements += [f"CREATE VIEW {view} AS SELECT * FROM {table}" for view, table in EVENT_VIEWS.items()]
    statements += [_SESSIONS, f"CREATE VIEW {KEPT} AS {segments_sql(partitioned=False)}"]
    statements += [f"CREATE VIEW {name} AS {body}" for name, body in shape_views().items()]
    return (
        "import duckdb, json\ncon = duckdb.connect()\n"
        f"for s in {statements!r}:\n    try:\n        con.execute(s)\n    except duckdb.Error:\n        pass\n"
        f"print(len(con.execute({sql!r}).fetchall()))\n"
    )


def timed(command: list[str], runs: int, timeout: float) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.monotonic()
        try:
            done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=timeout)
        except subprocess.TimeoutExpired:
            print(f"  ({' '.join(command[2:4])[:60]} ran past {timeout:.0f} s: stopped)", flush=True)
            return [FAILED]
        times.append(time.monotonic() - started)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)[:120]} failed: {done.stderr[-2000:]}")
    return times


HEAVY = ("torch", "faust", "aiokafka", "matplotlib", "tritonclient", "numpy", "pyarrow", "rich", "structlog")


def paired(args: list[str], plain: list[str], runs: int, timeout: float) -> tuple[list[float], list[float]]:
    """`microturn ARGS` and the plain DuckDB program, run in turn (so both see the same load)."""
    cli_times: list[float] = []
    plain_times: list[float] = []
    for _ in range(runs):
        cli_times += timed([*MICROTURN, *args], 1, timeout)
        plain_times += timed(plain, 1, timeout)
        if math.isnan(cli_times[-1]):  # stopped at the timeout: once is enough
            break
    return cli_times, plain_times


def cold_fleet_report(archive: Path, flags: list[str], timeout: float) -> list[float]:
    """One `report --fleet` with the turn-taking scores kept beside the archive removed first: the
    run that scores the latest sessions (and keeps their scores for every later report)."""
    shutil.rmtree(archive.joinpath(*SCORES), ignore_errors=True)
    return timed([*MICROTURN, "report", "--fleet", "--json", *flags], 1, timeout)


def after_a_batch(archive: Path, command: list[str], runs: int, timeout: float) -> list[float]:
    """`command` run as the first one after new files arrive, as the archiver adds them every few
    seconds (the views cache and the kept segments are brought up to date): 30 new sessions of 600
    turns in every table, timed; then the files are removed again and one untimed command brings the
    caches back to the archive as generated."""
    times: list[float] = []
    for run in range(runs):
        before = set(archive.rglob("*.parquet"))
        write_batch(archive, 900_000 + 100 * run, sessions=30, turns=600, seed=run)
        times += timed(command, 1, timeout)
        for path in set(archive.rglob("*.parquet")) - before:
            path.unlink()
        timed(command, 1, timeout)
    return times


def import_time() -> tuple[float, list[str]]:
    """Seconds `import infra.cli.main` takes (`-X importtime`), and which of HEAVY it imports."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import infra.cli.main"], capture_output=True, text=True, check=True
    )
    total, loaded = 0, []
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \| *(\S+)$", line)
        if match and match.group(2) == "infra.cli.main":
            total = max(total, int(match.group(1)))
        if match and match.group(2) in HEAVY:
            loaded.append(match.group(2))
    return total / 1e6, loaded


def line(name: str, times: list[float], plain: list[float] | None, goal: float | None) -> str:
    if any(math.isnan(t) for t in times):
        return f"{name:40s} stopped after the timeout" + (f" (goal < {goal} s)" if goal else "")
    median = statistics.median(times)
    text = f"{name:40s} median {median:6.3f} s  min {min(times):6.3f}  max {max(times):6.3f}"
    text += f"  goal < {goal} s: {'met' if median < goal else 'MISSED'}" if goal else ""
    if plain and not any(math.isnan(t) for t in plain):
        p = statistics.median(plain)
        ratio = median / p
        text += (
            f"\n{'':40s} plain DuckDB {p:6.3f} s  min {min(plain):6.3f}  max {max(plain):6.3f}"
            f"  ratio {ratio:4.2f}x ({'met' if ratio <= 1.5 else 'MISSED'}: goal 1.5x)"
        )
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000, help="size of the generated archive")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--archive", help="generate into (or reuse) this folder instead of a temp dir")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds one command may take")
    parser.add_argument(
        "--no-bytecode-cache", action="store_true", help="compile every module in every process (benchmarks.bytecode)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="query-bench-") as tmp:
        if not args.no_bytecode_cache:
            print(cache_bytecode(Path(tmp) / "pycache"))
        archive = Path(args.archive) if args.archive else Path(tmp) / "archive"
        if not any(archive.glob("*/**/*.parquet")):
            started = time.monotonic()
            sessions, events = generate(archive, args.events)
            print(f"generated {events:,} events ({sessions:,} sessions) in {time.monotonic() - started:.0f} s")
        parquet = [p for table in TABLES for p in table_files(archive, table)]
        size = sum(p.stat().st_size for p in parquet)
        print(f"archive {archive}: {size / 2**20:.0f} MiB in {len(parquet)} Parquet files")
        started = time.monotonic()
        first = subprocess.run(
            [*MICROTURN, "query", "--json", "SELECT count(*) AS n FROM outputs", "--archive", str(archive)],
            capture_output=True,
            text=True,
            check=True,
        )
        print(
            f"first command (builds the view cache and catalog if the archive changed): "
            f"{time.monotonic() - started:.2f} s, "
            f"{json.loads(first.stdout)[0]['n']:,} outputs"
        )
        seconds, heavy = import_time()  # after a first command: bytecode cached
        print(
            f"import infra.cli.main: {seconds:.3f} s (-X importtime); "
            f"of {', '.join(HEAVY)} it imports: {heavy or 'none'}"
        )
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n", flush=True)
        flags = ["--archive", str(archive)]
        t, n = args.timeout, args.runs
        plain_session = [sys.executable, "-c", plain_script(archive, SESSION_SQL)]
        plain_fleet = [sys.executable, "-c", plain_script(archive, FLEET_SQL)]
        python = timed([sys.executable, "-c", "pass"], n, t)
        rows = [
            ("microturn --help (start-up alone)", timed([*MICROTURN, "--help"], n, t), None, 0.3),
            (
                "microturn query: one session's turns",
                *paired(["query", "--json", SESSION_SQL, *flags], plain_session, n, t),
                0.3,
            ),
            (
                "microturn report SESSION --json",
                *paired(["report", SESSION, "--json", *flags], plain_session, n, t),
                0.3,
            ),
            (
                "session query after 30 new sessions",
                after_a_batch(archive, [*MICROTURN, "query", "--json", SESSION_SQL, *flags], n, t),
                None,
                None,
            ),
            (
                "microturn query: fleet aggregate",
                *paired(["query", "--json", FLEET_SQL, *flags], plain_fleet, n, t),
                1.0,
            ),
            (
                "report --fleet --json, no kept scores",
                cold_fleet_report(archive, flags, t),
                None,
                1.0,
            ),
            (
                "microturn report --fleet --json",
                *paired(["report", "--fleet", "--json", *flags], plain_fleet, n, t),
                1.0,
            ),
            (
                "report --fleet --turn-taking-sessions 0",
                *paired(["report", "--fleet", "--json", "--turn-taking-sessions", "0", *flags], plain_fleet, n, t),
                1.0,
            ),
        ]
        for name, times, plain, goal in rows:
            print(line(name, times, plain, goal))
        print(f"{'python -c pass (interpreter start-up)':40s} median {statistics.median(python):6.3f} s")
        print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
