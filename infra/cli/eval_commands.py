"""`microturn eval`: Full-Duplex-Bench v1-style turn-taking metrics of recorded sessions."""

from __future__ import annotations

import argparse
from typing import Any

from infra.cli.common import (
    CommandError,
    add_json_flag,
    add_stack_flags,
    archive_root,
    emit,
    endpoints,
    session_id_arg,
)

EVAL_HELP = """\
Turn-taking metrics of recorded sessions in the terms of Full-Duplex-Bench v1: pause takeover,
backchannel frequency and takeover, smooth turn-taking takeover and latency, interruption yield and
latency. Caller speech comes from silero-vad on the recorded audio; model speech from the outputs.
Labelled sessions (`stream --labels`) are scored at their labelled moments, others at the VAD's
pauses and turn ends. With --model, scores what that model would have done on the recorded turns
(what-if replay). Definitions and JSON keys: docs/evaluation.md.
"""


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f} s"


def describe(doc: dict[str, Any]) -> str:
    """The human-readable eval summary."""
    pause, back, smooth, inter = doc["pause"], doc["backchannel"], doc["smooth_turn_taking"], doc["interruption"]
    lines = [
        f"model {doc['model']} ({', '.join(doc['versions'])}): {doc['sessions']} sessions "
        f"({doc['labelled_sessions']} labelled), {doc['duration_s']} s, caller speech {doc['caller_speech_s']} s",
        f"pause handling      takeover rate {_rate(pause['takeover_rate'])}  "
        f"({pause['takeovers']} of {pause['moments']})",
        f"backchannel         {back['per_minute']} per minute; at {back['opportunities']} opportunities: "
        f"rate {_rate(back['rate'])}, takeover rate {_rate(back['takeover_rate'])}",
        f"smooth turn-taking  takeover rate {_rate(smooth['takeover_rate'])} ({smooth['takeovers']} of "
        f"{smooth['turn_ends']}), latency mean {_seconds(smooth['latency_s']['mean'])}, "
        f"median {_seconds(smooth['latency_s']['median'])}",
        f"user interruption   yield rate {_rate(inter['takeover_rate'])} ({inter['yields']} of "
        f"{inter['interruptions']}), latency mean {_seconds(inter['latency_s']['mean'])}",
    ]
    if doc.get("skipped"):
        lines.append(f"skipped (no audio or no outputs): {', '.join(doc['skipped'])}")
    return "\n".join(lines)


def eval_command(args: argparse.Namespace) -> int:
    import asyncio  # here, not at module level: `--help` and `query` do not use it

    from replay.evaluation import EvaluationError, load_model
    from replay.evaluation.fleet import archived_sessions, evaluate_archive

    if args.fleet == bool(args.sessions):
        raise CommandError("eval: give SESSION ids or --fleet", exit_code=2)
    _refuse_erased(args.sessions)
    try:
        model = load_model(args.model) if args.model else None
    except EvaluationError as exc:
        raise CommandError(str(exc), exit_code=2) from exc
    if args.source == "kafka" and not args.fleet:
        from replay.evaluation import evaluate
        from replay.session import from_kafka
        from schemas import Topics

        kafka, _, prefix = endpoints(args)
        recordings = [asyncio.run(from_kafka(kafka, Topics(prefix), s)) for s in args.sessions]
        doc = evaluate(recordings, model).as_dict()
    else:
        root = archive_root(args)
        ids = archived_sessions(root) if args.fleet else list(args.sessions)
        report, skipped = evaluate_archive(root, ids, model)
        if not report.sessions:
            raise CommandError(f"eval: none of {len(ids)} session(s) in {root} could be evaluated", exit_code=1)
        doc = {**report.as_dict(), "skipped": skipped}
    emit(args, doc, describe(doc))
    return 0


def _refuse_erased(session_ids: list[str]) -> None:
    """SessionErased (exit 8) naming the sessions asked for by id that were erased (`--fleet` skips them)."""
    from replay.session.errors import SessionErased
    from streams.vault import current

    erased = [s for s in session_ids if current().key_state(s) == "erased"]
    if erased:
        raise SessionErased(
            f"session(s) {', '.join(erased)} were erased (`microturn erase`): their audio can no longer be read"
        )


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "eval",
        help="turn-taking metrics (Full-Duplex-Bench v1 style) of recorded sessions, or of a what-if model",
        description=EVAL_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("sessions", metavar="SESSION", nargs="*", type=session_id_arg, help="session ids (or --fleet)")
    parser.add_argument("--fleet", action="store_true", help="every session in the archive")
    parser.add_argument(
        "--model",
        metavar="CHECKPOINT_OR_MODEL",
        help="what-if: 'harness', 'interaction' (the served weights) or a checkpoint file",
    )
    parser.add_argument(
        "--source",
        choices=("archive", "kafka"),
        default="archive",
        help="read sessions from the Parquet archive (default) or the Kafka log (not with --fleet)",
    )
    parser.add_argument(
        "--archive", metavar="DIR", help="archive root (default: $MICROTURN_ARCHIVE_DIR or the stack's)"
    )
    add_stack_flags(parser)
    add_json_flag(parser)
    parser.set_defaults(func=eval_command)
