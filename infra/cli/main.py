"""Argument parsing and error handling of the `microturn` command."""

from __future__ import annotations

import argparse
import gc
import json
import sys
from typing import NoReturn

from infra.cli import (
    archive_commands,
    audit_commands,
    erase_commands,
    eval_commands,
    replay_commands,
    schema_commands,
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
             erase SESSION               destroy the session's data key: its payloads are gone everywhere
integrate    schemas [--format json-schema]   the wire format of every event
             completion bash|zsh|tcsh    a shell completion script

Every command that reports takes --json (errors then are one JSON object on stderr).
`microturn COMMAND --help` for the details.
"""


class _Parser(argparse.ArgumentParser):
    """argparse, whose usage errors are a JSON object on stderr too when the command line has --json."""

    json_errors = False

    def error(self, message: str) -> NoReturn:
        if _Parser.json_errors:
            document = {"error": message, "kind": "UsageError", "command": self.prog, "exit_code": EXIT_BAD_INPUT}
            print(json.dumps(document), file=sys.stderr)
            sys.exit(EXIT_BAD_INPUT)
        super().error(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="microturn", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action=_Version, nargs=0, help="show the installed version and exit")
    parser.add_argument("--log-level", default="warning", help=LOG_LEVEL_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    stack_commands.register(sub)
    stream_commands.register(sub)
    serve_commands.register(sub)
    archive_commands.register(sub)
    audit_commands.register(sub)
    replay_commands.register(sub)
    eval_commands.register(sub)
    schema_commands.register(sub)
    erase_commands.register(sub)
    text = 'print a shell completion script (bash: `eval "$(microturn completion bash)"`)'
    completion = sub.add_parser("completion", help=text, description=text)
    completion.add_argument("shell", choices=("bash", "zsh", "tcsh"))
    completion.set_defaults(func=lambda args: _completion(parser, args.shell))
    _accept_log_level_everywhere(sub)
    return parser


LOG_LEVEL_HELP = "structlog level on stderr (default: warning); accepted before or after the command"


class _Version(argparse.Action):
    """`--version`, looked up when asked for (`importlib.metadata` costs ~40 ms of every start-up)."""

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> NoReturn:
        print(f"microturn {package_version()}")  # on stdout, as argparse's own version action does
        parser.exit()


def package_version() -> str:
    """The installed microturn version."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("microturn")
    except PackageNotFoundError:
        return "unknown"


def _accept_log_level_everywhere(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """`--log-level` after any (sub)command too; SUPPRESS keeps the top-level value when it is absent."""
    for parser in set(sub.choices.values()):
        if "--log-level" not in parser._option_string_actions:
            parser.add_argument("--log-level", default=argparse.SUPPRESS, help=LOG_LEVEL_HELP)
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                _accept_log_level_everywhere(action)


def _completion(parser: argparse.ArgumentParser, shell: str) -> int:
    import shtab

    print(shtab.complete(parser, shell=shell))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    _Parser.json_errors = "--json" in (sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_BAD_INPUT
    if getattr(args, "logs", True):  # `query` and `report` set up logging only when they need it
        configure(args.log_level)
    try:
        if getattr(args, "state_dir", None):
            from pathlib import Path

            from streams.key_paths import use_state_dir

            use_state_dir(Path(args.state_dir).resolve())  # its master key and key store, not ./.microturn's
        code: int = args.func(args)
    except MicroturnError as exc:  # every error microturn raises on purpose; its class says the exit code
        _error(args, exc)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    return code


def configure(level: str) -> None:
    """structlog's set-up (`processors.logs`), imported by commands that run, not by `--help`.

    structlog imports rich, when installed, for its console renderer and pretty tracebacks (0.2-0.3 s);
    `processors.logs` renders logfmt or JSON and uses neither, so rich is hidden while structlog loads
    (a later `import rich` elsewhere works as usual).
    """
    hide_rich = "structlog" not in sys.modules and "rich" not in sys.modules
    if hide_rich:
        sys.modules["rich"] = None  # type: ignore[assignment]  # makes `import rich` raise ImportError
    try:
        from processors.logs import configure as set_up
    finally:
        if hide_rich:
            del sys.modules["rich"]
    set_up(level)


def _error(args: argparse.Namespace, exc: MicroturnError) -> None:
    """The one status line of a failed command on stderr; text from outside never drives the terminal.

    Under --json it is one JSON object instead (stdout carries only results, so a script reads the
    result from stdout and the error from stderr, and tells them apart by the exit code):
    {"error": MESSAGE, "kind": EXCEPTION CLASS, "command": COMMAND, "exit_code": N}.
    """
    if getattr(args, "json", False):
        document = {"error": str(exc), "kind": type(exc).__name__, "command": args.command, "exit_code": exc.exit_code}
        print(json.dumps(document), file=sys.stderr)
        return
    print(escape_controls(f"microturn {args.command}: {exc}", keep_newlines=True), file=sys.stderr)


def entry() -> None:
    code = main()
    # The interpreter's exit ends in a garbage collection over every object still alive: after a query,
    # DuckDB's and the imports' (exit 36 -> 11 ms after a session `query`). Frozen objects are not collected, only
    # freed by the OS; atexit handlers still run, stdout and stderr are still flushed, and nothing the
    # commands write depends on a cycle being collected (files are closed by `with`, DuckDB explicitly).
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    entry()
