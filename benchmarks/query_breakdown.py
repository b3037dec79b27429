"""Where a `microturn query` / `report` command's time goes, stage by stage, as fresh processes.

    .venv/bin/python -m benchmarks.query_breakdown --archive DIR [--runs 5]

Each run is a new interpreter that does what `microturn` does, timing each stage: starting the
interpreter (to the first line of this module), importing the command line, building its parser,
setting up logging (where the command does), importing DuckDB and the analytics package,
connecting (the views), the query or report itself, the key store's word on erased sessions,
formatting the result as the command does, closing the connection, printing, and the exit (from the last
stage to the process's end, seen by the parent). Prints the median of each stage over --runs, with
the load average. Use the archive of `benchmarks/query_fleet.py --archive DIR` (generated there once).
"""

from __future__ import annotations

import time

STARTED = time.time()  # first: the interpreter's start-up ends here

import argparse  # noqa: E402  (the command line imports argparse and json too; nothing else is imported here)
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

SESSION = "s0000042"
COMMANDS = {
    "query: one session's turns": ["query", "--json", f"SELECT * FROM turn_activity WHERE session_id = '{SESSION}'"],
    "report SESSION --json": ["report", SESSION, "--json"],
    "query: fleet aggregate": ["query", "--json", "FLEET"],
    "report --fleet --json (no turn-taking)": ["report", "--fleet", "--json", "--turn-taking-sessions", "0"],
}


class _Stages:
    """Seconds since the previous mark, by stage."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def __call__(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[stage] = now - self._last
        self._last = now


def child(argv: list[str]) -> None:
    """One command, as `microturn` runs it, printing {"started", "stages": {stage: seconds}, "ended"} as JSON."""
    mark = _Stages()
    import infra.cli.main  # noqa: F401  (the module; `infra.cli.main` the name is its `main` function)

    cli = sys.modules["infra.cli.main"]
    mark("import infra.cli.main")
    parser = cli.build_parser()
    mark("build the parser")
    args = parser.parse_args(argv)
    if getattr(args, "logs", True):
        cli.configure(args.log_level)
    mark("set up logging (structlog)")
    import duckdb  # noqa: F401  (timed on its own)

    mark("import duckdb")
    text = _command(args, mark)
    with open(os.devnull, "w") as out:
        print(text, file=out)
    mark("print the result")
    print(json.dumps({"started": STARTED, "stages": mark.seconds, "ended": time.time()}), flush=True)
    import gc

    gc.freeze()  # as `microturn` exits (infra.cli.main.entry)


def _command(args: argparse.Namespace, mark: _Stages) -> str:
    """The query or report of `args`, stage by stage as the command runs them; the text it prints."""
    from pathlib import Path

    from infra.cli.archive_commands import _cell, _erased_note, _json_rows, key_state
    from replay.analytics import connect

    if args.command == "report":  # what each command imports: a query only the views
        from replay.analytics import fleet_report, session_report
    mark("import replay.analytics")
    con = connect(Path(args.archive))
    mark("connect (views)")
    if args.command == "query":
        if args.sql == "FLEET":
            from replay.analytics.fleet import FLEET_SQL

            args.sql = FLEET_SQL
        result = con.execute(args.sql)
        columns = [d[0] for d in result.description or ()]
        rows = result.fetchall()
        mark("query")
        _erased_note(columns, rows)
        mark("erased sessions (key store)")
        text = _json_rows(columns, rows)
    else:
        doc = fleet_report(con) if args.fleet else session_report(con, args.session)
        mark("query")
        if not args.fleet:
            doc["erased"] = key_state(args.session) == "erased"
        mark("erased sessions (key store)")
        text = json.dumps(_cell(doc, False), indent=2)
    mark("format the result")
    con.close()
    mark("close the connection")
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archive", required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--no-bytecode-cache", action="store_true", help="compile every module in every process (benchmarks.bytecode)"
    )
    parser.add_argument("--child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child)
        return
    import statistics
    import subprocess
    import tempfile
    from pathlib import Path

    from benchmarks.bytecode import cache_bytecode

    if not args.no_bytecode_cache:
        print(cache_bytecode(Path(tempfile.mkdtemp(prefix="query-breakdown-")) / "pycache"))
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    me = [sys.executable, "-m", "benchmarks.query_breakdown", "--archive", args.archive, "--child"]
    for name, argv in COMMANDS.items():
        subprocess.run([*me, *argv, "--archive", args.archive], capture_output=True, check=True)  # not timed: warm-up
        runs, walls = [], []
        for _ in range(args.runs):
            started = time.monotonic()
            spawned = time.time()
            done = subprocess.run([*me, *argv, "--archive", args.archive], capture_output=True, text=True, check=True)
            ended = time.time()
            walls.append(time.monotonic() - started)
            got = json.loads(done.stdout.strip().splitlines()[-1])
            runs.append(
                {"start the interpreter": got["started"] - spawned, **got["stages"], "exit": ended - got["ended"]}
            )
        spread = f"min {min(walls):.3f}, max {max(walls):.3f}"
        print(f"\n{name}: whole process median {statistics.median(walls):.3f} s ({spread})")
        for stage in runs[0]:
            ms = [r[stage] * 1000 for r in runs]
            print(f"  {stage:28s} median {statistics.median(ms):7.1f} ms  (min {min(ms):6.1f}, max {max(ms):6.1f})")
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
