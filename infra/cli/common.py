"""What every command shares: settings from flags, JSON output, exit codes, errors."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from schemas.errors import InvalidSessionId, MicroturnError
from schemas.ids import check_session_id, escape_controls

if TYPE_CHECKING:  # the stack (Kafka, Triton, numpy) is imported by the commands that use it, not by `--help`
    from infra.stack import Stack

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_TRUNCATED = 3
EXIT_DOWN = 7
"""`status`: something `up` should be running is down (or nothing was ever brought up)."""


class CommandError(MicroturnError):
    """A command failed in a way the user can fix; the message says how."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def session_id_arg(value: str) -> str:
    """argparse `type=` of every session id argument: the one rule of `schemas.ids`, else exit 2."""
    try:
        return check_session_id(value)
    except InvalidSessionId as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_stack_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state-dir", help="where logs, data and state.json live (default: ./.microturn, or $MICROTURN_STATE_DIR)"
    )
    parser.add_argument("--kafka", metavar="BOOTSTRAP", help="use this Kafka instead of starting one (host:port)")
    parser.add_argument(
        "--triton",
        metavar="URL",
        help="use these Triton gRPC endpoints instead of starting one (host:port[,host:port])",
    )
    parser.add_argument("--topic-prefix", help="prefix of every topic name (default: microturn)")


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the result as one JSON document on stdout")


def stack_from(args: argparse.Namespace) -> Stack:
    from infra.stack import Stack, StackSettings

    overrides: dict[str, Any] = {
        "state_dir": getattr(args, "state_dir", None),
        "kafka": getattr(args, "kafka", None),
        "triton": getattr(args, "triton", None),
        "topic_prefix": getattr(args, "topic_prefix", None),
        "workers": getattr(args, "workers", None),
        "tritons": getattr(args, "tritons", None),
        "partitions": getattr(args, "partitions", None),
        "replication_factor": getattr(args, "replication_factor", None),
        "encryption": getattr(args, "encryption", None),
    }
    if overrides["state_dir"] is not None:
        from pathlib import Path

        overrides["state_dir"] = Path(overrides["state_dir"]).resolve()
    return Stack(StackSettings.from_env(**overrides))


def archive_root(args: argparse.Namespace) -> Path:
    """--archive, else $MICROTURN_ARCHIVE_DIR, else the running stack's archiver's, else STATE_DIR/archive."""
    if args.archive or os.environ.get("MICROTURN_ARCHIVE_DIR"):
        return Path(args.archive or os.environ["MICROTURN_ARCHIVE_DIR"])
    stack = stack_from(args)
    archivers = stack.status().get("archivers", [])
    return Path(archivers[0]["archive"]) if archivers else stack.settings.state_dir / "archive"


def endpoints(args: argparse.Namespace) -> tuple[str, str, str]:
    """(kafka bootstrap, triton grpc, topic prefix) from flags or the running stack."""
    stack = stack_from(args)
    state = stack.status()
    kafka = stack.settings.kafka or state["kafka"]["bootstrap"]
    triton = stack.settings.triton or state["triton"]["grpc"]
    if not kafka:
        raise CommandError(f"no Kafka known in {stack.settings.state_dir}: run `microturn up` or pass --kafka")
    return kafka, triton or "", stack.settings.topic_prefix


def say_for(args: argparse.Namespace) -> Any:
    """Progress goes to stderr, so --json output on stdout stays clean."""

    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    return say


def emit(args: argparse.Namespace, document: dict[str, Any], human: str) -> None:
    """Print `document` as JSON (--json; control characters are escaped by JSON) or `human`, with
    every control character but the newline escaped: text from the log never drives the terminal."""
    if getattr(args, "json", False):
        print(json.dumps(document, indent=2))
    else:
        print(escape_controls(human, keep_newlines=True))
