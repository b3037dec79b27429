"""Argument parsing and error handling of the `microturn` command."""

from __future__ import annotations

import argparse
import sys

from infra.cli import (
    archive_commands,
    eval_commands,
    replay_commands,
    serve_commands,
    stack_commands,
    stream_commands,
)
from infra.cli.common import EXIT_BAD_INPUT
from schemas.errors import MicroturnError
from schemas.ids import escape_controls

DESCRIPTION = """\
microturn: serve and record real-time interaction models in 200 ms micro-turns.

Every 200 ms of a conversation becomes events on Kafka; workers assemble micro-turns and run
them through the interaction model on Triton; every input and output stays in the log.

run it       up | status | down          the local stack: Kafka, Triton, workers, archiver
             demo                        stream the bundled sample call, watch each micro-turn
feed it      stream FILE                 publish a recording as a session
             serve twilio|ws, call FILE  live calls (Twilio Media Streams, PCM WebSocket)
look back    replay SESSION              bit-for-bit replay, or what-if with --model CHECKPOINT
             export SESSION OUT          stereo WAV or MP4 (video, subtitles)
             query SQL, report           DuckDB over the Parquet archive (`archive run|sync`)
             audit verify SESSION        prove the archive matches its signed hash chain

Every command that reports takes --json. `microturn COMMAND --help` for the details.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="microturn", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--log-level", default="warning", help="structlog level on stderr (default: warning)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    stack_commands.register(sub)
    stream_commands.register(sub)
    serve_commands.register(sub)
    archive_commands.register(sub)
    replay_commands.register(sub)
    eval_commands.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_BAD_INPUT
    configure(args.log_level)
    try:
        code: int = args.func(args)
    except MicroturnError as exc:  # every error microturn raises on purpose; its class says the exit code
        _error(args.command, exc)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    return code


def configure(level: str) -> None:
    """structlog's set-up (`infra.logs`), imported by commands that run, not by `--help`.

    structlog imports rich, when installed, for its console renderer and pretty tracebacks (0.2-0.3 s);
    `infra.logs` renders logfmt or JSON and uses neither, so rich is hidden while structlog loads
    (a later `import rich` elsewhere works as usual).
    """
    hide_rich = "structlog" not in sys.modules and "rich" not in sys.modules
    if hide_rich:
        sys.modules["rich"] = None  # type: ignore[assignment]  # makes `import rich` raise ImportError
    try:
        from infra.logs import configure as set_up
    finally:
        if hide_rich:
            del sys.modules["rich"]
    set_up(level)


def _error(command: str, exc: Exception) -> None:
    """The one status line of a failed command; text from outside never drives the terminal."""
    print(escape_controls(f"microturn {command}: {exc}", keep_newlines=True), file=sys.stderr)


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
