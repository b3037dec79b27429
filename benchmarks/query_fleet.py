"""`microturn query` and `microturn report` over 10 million archived events: per session and fleet-wide.

    .venv/bin/python benchmarks/query_fleet.py [--events 10000000] [--runs 5] [--archive DIR]

Generates the archive first (see `benchmarks/query_archive_data.py`; bounded memory, a temp dir
unless --archive names a folder, which is reused when it already holds data), then times each
command as a user runs it (a fresh `microturn` process: Python start-up, views, query, output),
and the same SQL inside one process (views + query only). Prints median and spread over --runs.
Goal: the fleet aggregate under 2 s.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.query_archive_data import generate
from replay.analytics import connect
from replay.analytics.fleet import FLEET_SQL

MICROTURN = [sys.executable, "-m", "infra.cli.main"]
SESSION = "s0000042"
SESSION_SQL = f"SELECT * FROM turn_activity WHERE session_id = '{SESSION}' ORDER BY turn"


def timed_cli(args: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.monotonic()
        done = subprocess.run([*MICROTURN, *args], capture_output=True, text=True, check=False)
        times.append(time.monotonic() - started)
        if done.returncode != 0:
            raise SystemExit(f"microturn {' '.join(args)[:80]} failed: {done.stderr[-2000:]}")
    return times


def timed_in_process(archive: Path, sql: str, runs: int) -> tuple[list[float], list[float]]:
    walls, cpus = [], []
    for _ in range(runs):
        usage = resource.getrusage(resource.RUSAGE_SELF)
        started, cpu = time.monotonic(), usage.ru_utime + usage.ru_stime
        con = connect(archive)
        con.execute(sql).fetchall()
        con.close()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        walls.append(time.monotonic() - started)
        cpus.append(usage.ru_utime + usage.ru_stime - cpu)
    return walls, cpus


def line(name: str, times: list[float]) -> str:
    return (
        f"{name:46s} median {statistics.median(times):6.2f} s   min {min(times):6.2f}   max {max(times):6.2f}"
        f"   ({len(times)} runs)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--archive", help="generate into (or reuse) this folder instead of a temp dir")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="query-bench-") as tmp:
        archive = Path(args.archive) if args.archive else Path(tmp) / "archive"
        if not any(archive.glob("*/**/*.parquet")):
            started = time.monotonic()
            sessions, events = generate(archive, args.events)
            print(
                f"generated {events:,} events ({sessions:,} sessions of 600 turns) in "
                f"{time.monotonic() - started:.0f} s",
                flush=True,
            )
        size = sum(p.stat().st_size for p in archive.rglob("*.parquet"))
        rows = (
            connect(archive)
            .execute(
                "SELECT (SELECT count(*) FROM audio_chunks) + (SELECT count(*) FROM turns) + "
                "(SELECT count(*) FROM outputs)"
            )
            .fetchone()
        )
        print(f"archive {archive}: {size / 2**20:.0f} MiB of Parquet, {rows[0] if rows else 0:,} per-turn events\n")
        flags = ["--archive", str(archive)]
        results = [
            ("microturn --help (start-up alone)", timed_cli(["--help"], args.runs)),
            ("microturn query: one session's turns", timed_cli(["query", "--json", SESSION_SQL, *flags], args.runs)),
            ("microturn report SESSION --json", timed_cli(["report", SESSION, "--json", *flags], args.runs)),
            (
                "microturn query: fleet aggregate (FLEET_SQL)",
                timed_cli(["query", "--json", FLEET_SQL, *flags], args.runs),
            ),
            ("microturn report --fleet --json", timed_cli(["report", "--fleet", "--json", *flags], args.runs)),
        ]
        walls, cpus = timed_in_process(archive, FLEET_SQL, args.runs)
        results += [
            ("in process: views + fleet aggregate, wall", walls),
            ("in process: views + fleet aggregate, CPU", cpus),
        ]
        for name, times in results:
            print(line(name, times))


if __name__ == "__main__":
    main()
