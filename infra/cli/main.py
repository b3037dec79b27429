"""Argument parsing and error handling of the `microturn` command."""

from __future__ import annotations

import argparse
import sys

from infra.cli import archive_commands, replay_commands, serve_commands, stack_commands, stream_commands
from infra.cli.common import EXIT_BAD_INPUT, EXIT_FAILED, CommandError
from infra.errors import InfraError
from infra.logs import configure
from processors.errors import ProcessorError
from replay.errors import ReplayError
from streams.errors import StreamsError
from streams.media import MediaError

DESCRIPTION = """\
microturn: serve and record real-time interaction models in 200 ms micro-turns.

Every 200 ms of a conversation becomes events on Kafka; workers assemble micro-turns and run
them through the interaction model on Triton; every input and output stays in the log.

  microturn up          start Kafka, Triton and the workers locally
  microturn demo        stream the bundled sample call and watch each micro-turn
  microturn stream F    publish a recording as a session
  microturn status      what runs, where, and whether it is ready
  microturn serve P     take live calls: Twilio Media Streams (twilio) or PCM WebSocket (ws)
  microturn call F      play a recording into `serve twilio` as a phone call, save the reply
  microturn replay S    replay a session bit for bit (or what-if with --model CHECKPOINT)
  microturn export S F  write a session as stereo WAV or MP4 (video, subtitles)
  microturn down        stop what `up` started
  microturn query SQL   SQL over the Parquet archive (`archive run` fills it; `report`, `audit verify`)
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
    except CommandError as exc:
        print(f"microturn {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except MediaError as exc:
        print(f"microturn {args.command}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (InfraError, StreamsError, ReplayError, ProcessorError) as exc:
        print(f"microturn {args.command}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130
    return code


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
