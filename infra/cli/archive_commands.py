"""`microturn archive run|sync`, `query`, `report` and `audit verify|export|keygen`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra.cli.common import (
    CommandError,
    add_json_flag,
    add_stack_flags,
    emit,
    endpoints,
    session_id_arg,
    stack_from,
)
from schemas.ids import escape_controls

if TYPE_CHECKING:
    import duckdb

KEY_HELP = (
    "Ed25519 private key file (default: $MICROTURN_AUDIT_KEY, else audit.key in $MICROTURN_KEYS_DIR or "
    "<state dir>/keys; never inside the archive)"
)


def state_dir_of(args: argparse.Namespace) -> Path:
    return Path(args.state_dir).resolve() if getattr(args, "state_dir", None) else stack_from(args).settings.state_dir


def archive_dir(args: argparse.Namespace) -> Path:
    if args.archive:
        return Path(args.archive)
    if os.environ.get("MICROTURN_ARCHIVE_DIR"):
        return Path(os.environ["MICROTURN_ARCHIVE_DIR"])
    return state_dir_of(args) / "archive"


def key_path(args: argparse.Namespace) -> Path:
    from schemas.audit import default_key_path

    return Path(args.key) if args.key else default_key_path(state_dir_of(args))


def archive_run(args: argparse.Namespace) -> int:
    import asyncio  # here, not at module level: `--help` and `query` do not use it

    from processors.archiver.__main__ import serve
    from processors.archiver.settings import ArchiverSettings
    from schemas import Topics

    kafka, _, prefix = endpoints(args)
    settings = ArchiverSettings.from_env(
        kafka=kafka,
        topics=Topics(prefix),
        archive_dir=archive_dir(args),
        key_path=key_path(args),
        roll_bytes=args.roll_bytes,
        roll_age_s=args.roll_age,
    )
    print(f"archiving {prefix}.* from {kafka} into {settings.archive_dir} (Ctrl-C commits and stops)", file=sys.stderr)
    asyncio.run(serve(settings))
    return 0


def archive_sync(args: argparse.Namespace) -> int:
    import asyncio  # here, not at module level: `--help` and `query` do not use it

    from infra.cli.progress import progress  # here, not at module level: it imports threading (start-up time)
    from processors.archiver import wait_synced
    from schemas import Topics

    kafka, _, prefix = endpoints(args)
    with progress(f"waiting for the archive of {prefix}.*"):
        doc = asyncio.run(wait_synced(kafka, Topics(prefix), timeout_s=args.timeout))
    emit(args, doc, f"archive of {prefix}.* is in sync: {doc['partitions']} partitions up to their end offsets")
    return 0


def archive_compact(args: argparse.Namespace) -> int:
    from processors.archiver.compact import compact
    from processors.archiver.errors import ArchiveError

    try:
        done = compact(archive_dir(args))
    except ArchiveError as exc:
        raise CommandError(f"archive compact: {exc}") from exc
    emit(args, done.as_dict(), f"{done.merges} folders merged: {done.files_before} files -> {done.files_after}")
    return 0


_AS_IS = frozenset({int, float, bool, type(None)})
"""Types of cells printed as they are: most cells of most results."""


def _cell(value: Any, human: bool) -> Any:
    """A result's value as JSON (and CSV) take it, or as a table shows it (`human`)."""
    kind = type(value)
    if kind in _AS_IS:
        return value
    if kind is str:
        return escape_controls(value) if human else value
    import base64  # here, not at module level: only results with such values need these (start-up time)
    import datetime as dt
    from decimal import Decimal

    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>" if human else base64.b64encode(value).decode()
    if isinstance(value, str) and human:
        return escape_controls(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {str(k): _cell(v, human) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_cell(v, human) for v in value]
    return value


def _table(columns: list[str], rows: list[tuple[object, ...]], width: int = 60) -> str:
    cells = [[str(_cell(v, True)) if v is not None else "NULL" for v in row] for row in rows]
    cells = [[c if len(c) <= width else c[: width - 1] + "…" for c in row] for row in cells]
    widths = [max([len(name), *(len(row[i]) for row in cells)]) for i, name in enumerate(columns)]
    lines = ["  ".join(n.ljust(w) for n, w in zip(columns, widths, strict=True)), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines)


def key_state(session_id: str) -> str:
    """The session's data key: active, erased, or none (never encrypted, or another key store)."""
    from streams.key_paths import session_key_state  # not the vault: no key is opened, nothing heavy imported

    return session_key_state(session_id)


def _run_query(root: Path, sql: str) -> tuple[list[str], list[tuple[object, ...]]]:
    """`replay.analytics.query`, with `payload_text(...)` to read encrypted text (`replay.analytics.payloads`)."""
    import duckdb

    from replay.analytics import connect
    from replay.errors import ReplayError

    con = connect(root)
    try:
        if "payload_text" in sql.lower():  # registering a Python function costs numpy and the key store
            from replay.analytics.payloads import register_payload_text

            register_payload_text(con)
        result = con.execute(sql)
        return [d[0] for d in result.description or ()], result.fetchall()
    except duckdb.Error as exc:
        raise ReplayError(f"query failed: {exc}") from exc
    finally:
        con.close()


def _erased_note(columns: list[str], rows: list[tuple[object, ...]]) -> None:
    """On stderr: which sessions of the result were erased (their payload columns can never be read)."""
    if "session_id" not in columns:
        return
    from schemas.ids import is_session_id

    index = columns.index("session_id")
    # any SQL may name a column session_id: a value that is not a session id has no key to ask about
    sessions = {s for r in rows if r[index] is not None and is_session_id(s := str(r[index]))}
    erased = sorted(s for s in sessions if key_state(s) == "erased")
    if erased:
        shown = ", ".join(erased[:10]) + (f" and {len(erased) - 10} more" if len(erased) > 10 else "")
        print(
            escape_controls(f"note: erased sessions in the result (their payloads are unreadable ciphertext): {shown}"),
            file=sys.stderr,
        )


def query(args: argparse.Namespace) -> int:
    """Exit 0 with the rows, erased sessions included (named on stderr); payload columns of encrypted
    events are empty, `payload_text(...)` opens text where the key exists."""
    columns, rows = _run_query(archive_dir(args), args.sql)
    _erased_note(columns, rows)
    if args.json:
        print(json.dumps([{c: _cell(v, False) for c, v in zip(columns, row, strict=True)} for row in rows], indent=1))
    elif args.csv:
        import csv  # here, not at module level: only --csv uses it (start-up time)

        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows([[_cell(v, False) for v in row] for row in rows])
    else:
        print(_table(columns, rows))
    return 0


def report(args: argparse.Namespace) -> int:
    from replay.analytics import connect, fleet_report, session_report
    from replay.analytics.fleet import describe_fleet
    from replay.analytics.report import activity, describe

    if args.fleet == bool(args.session):
        raise CommandError("report: give either a SESSION or --fleet", exit_code=2)
    con = connect(archive_dir(args))
    try:
        if args.fleet:
            doc = fleet_report(con)
            doc["turn_taking"] = _turn_taking(con, archive_dir(args), args.turn_taking_sessions, args.log_level)
            emit(args, doc, describe_fleet(doc))
            return 0
        doc = session_report(con, args.session)
        doc["erased"] = key_state(args.session) == "erased"
        if not doc["erased"] and any(not d["task"] for d in doc["delegations"]):
            from replay.analytics.payloads import task_texts

            texts = task_texts(con, args.session)
            for d in doc["delegations"]:
                d["task"] = d["task"] or texts.get(d["task_id"], "")
        if args.png:
            from replay.analytics.picture import render

            doc["png"] = str(render(doc, activity(con, args.session), Path(args.png)))
    finally:
        con.close()
    erased = (
        f"session {args.session} was ERASED: its audio, video and text are unreadable; timings, actions and "
        "counts remain\n"
        if doc["erased"]
        else ""
    )
    human = erased + describe(doc) + (f"\ntimeline picture: {doc['png']}" if args.png else "")
    emit(args, _cell(doc, False), human)
    return 0


def _turn_taking(con: duckdb.DuckDBPyConnection, root: Path, latest: int, log_level: str) -> dict[str, Any] | None:
    """The headline turn-taking figures (`microturn eval`) of the `latest` sessions that started
    last: evaluation runs a VAD over each session's audio, so the fleet report bounds it and reads the
    scores kept beside the archive (`replay.evaluation.scores`; `microturn eval --fleet` scores every
    session). None when `latest` is 0 or no session has audio and outputs.

    Logging (structlog, ~40 ms) is set up only when a session has no kept score: scoring one logs."""
    if latest <= 0:
        return None
    from replay.evaluation.fleet import evaluate_archive, headline, sessions_in
    from replay.evaluation.scores import ScoreCache

    ids = sessions_in(con, latest)
    kept = ScoreCache(root)
    if any(kept.get(session_id) is None for session_id in ids):
        from infra.cli.main import configure

        configure(log_level)
    report_, _ = evaluate_archive(root, ids)
    return headline(report_.as_dict()) if report_.sessions else None


def add_archive_flags(p: argparse.ArgumentParser, json_flag: bool = True) -> None:
    p.add_argument(
        "--archive", metavar="DIR", help="archive root (default: $MICROTURN_ARCHIVE_DIR or <state dir>/archive)"
    )
    add_stack_flags(p)
    if json_flag:
        add_json_flag(p)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    archive = sub.add_parser("archive", help="archive every topic to Parquet", description="the Parquet archive")
    archive_sub = archive.add_subparsers(dest="archive_command", metavar="COMMAND", required=True)
    text = "run an archiver in the foreground: every topic to Parquet, exactly once, sealed"
    p = archive_sub.add_parser("run", help=text, description=text)
    p.add_argument("--key", help=KEY_HELP)
    p.add_argument("--roll-bytes", type=int, help="commit files once this many bytes are buffered (default 64 MiB)")
    p.add_argument("--roll-age", type=float, help="... or once the oldest buffered record is this old, s (default 30)")
    add_archive_flags(p, json_flag=False)
    p.set_defaults(func=archive_run)
    text = "wait until the archiver has archived everything produced before this call"
    p = archive_sub.add_parser("sync", help=text, description=text)
    p.add_argument("--timeout", type=float, default=60.0, help="seconds to wait (default 60); exit 1 after")
    add_archive_flags(p)
    p.set_defaults(func=archive_sync)
    text = "merge each hour's small files into few large ones, sorted by session (stop the archiver first)"
    p = archive_sub.add_parser("compact", help=text, description=text)
    add_archive_flags(p)
    p.set_defaults(func=archive_compact)

    text = "run SQL over the archive's DuckDB views (sessions, audio_chunks, turns, outputs, ...)"
    p = sub.add_parser("query", help=text, description=text)
    p.add_argument("sql", help='e.g. "SELECT session_id, count(*) FROM outputs GROUP BY ALL"')
    form = p.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="rows as a JSON array of objects")
    form.add_argument("--csv", action="store_true", help="rows as CSV with a header")
    add_archive_flags(p, json_flag=False)
    p.set_defaults(func=query, logs=False)  # the query path logs nothing: no structlog set-up (~40 ms)

    text = "a session's timeline (who spoke when, overlaps, latencies, delegations) or the fleet's figures"
    p = sub.add_parser("report", help=text, description=text)
    p.add_argument("session", nargs="?", type=session_id_arg, help="the session id")
    p.add_argument("--fleet", action="store_true", help="aggregate over every archived session")
    p.add_argument("--png", metavar="FILE", help="also draw the session's timeline to this PNG")
    p.add_argument(
        "--turn-taking-sessions",
        type=int,
        default=20,
        metavar="N",
        help="--fleet: turn-taking headline over the N sessions that started last (default 20; 0: none); "
        "scores are kept beside the archive, so only sessions never scored cost a VAD run "
        "(`microturn eval --fleet` scores and keeps all)",
    )
    add_archive_flags(p)
    p.set_defaults(func=report, logs=False)  # set up by the turn-taking headline, the one part that logs
