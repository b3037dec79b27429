"""`microturn replay` (exact or what-if) and `microturn export`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra.cli.common import (
    CommandError,
    add_json_flag,
    add_stack_flags,
    archive_root,
    emit,
    endpoints,
    session_id_arg,
)

if TYPE_CHECKING:
    from replay.session import Recording

EXIT_DIVERGED = 5
"""`replay`: it ran, and the replay departs from the recording."""
REPLAY_HELP = f"""\
Replay a recorded session offline and compare it with the recording, bit for bit.

Exact (default): the turns are re-derived from the raw input events and compared with the recorded
MicroTurns, then the recorded turns run through the recorded model version and every output field
is compared. Refused when the weights here (config.pbtxt + MICROTURN_MODEL_*) are another version.
Exit 0 identical, {EXIT_DIVERGED} diverged, 1 could not replay.

What-if (--model CHECKPOINT, or --model harness): the recorded turns through other weights, or
through the VAD + silence-timeout harness; reports per-turn differences (actions, text, audio,
latency). Exit 0.
"""


def _add_source_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("session", metavar="SESSION", type=session_id_arg, help="the session id")
    parser.add_argument(
        "--source",
        choices=("kafka", "archive"),
        default="kafka",
        help="read the session from the Kafka log (default) or the Parquet archive",
    )
    parser.add_argument(
        "--archive",
        metavar="DIR",
        help="archive root for --source archive (default: $MICROTURN_ARCHIVE_DIR, the "
        "stack's archiver's, or STATE_DIR/archive)",
    )
    add_stack_flags(parser)
    add_json_flag(parser)


def _recording(args: argparse.Namespace) -> Recording:
    import asyncio  # here, not at module level: `--help` and `query` do not use it

    from replay.session import from_archive, from_kafka
    from schemas import Topics

    if args.source == "archive":
        return from_archive(archive_root(args), args.session)
    kafka, _, prefix = endpoints(args)
    return asyncio.run(from_kafka(kafka, Topics(prefix), args.session))


def _exact(args: argparse.Namespace, recording: Recording) -> int:
    from inference.loading import load_network, repository_params
    from replay.session import replay

    params = repository_params()
    available = "config.pbtxt parameters with MICROTURN_MODEL_* overrides: " + ", ".join(
        f"{k}={params.get(k, '')!r}" for k in ("checkpoint", "config", "seed")
    )
    from streams.redaction import RedactionSettings, Redactor

    report = replay(recording, load_network(params), available, Redactor(RedactionSettings.from_env()))
    doc = report.as_dict()
    first = report.first_divergence
    verdict = (
        "identical: re-derived turns and every output match the recording bit for bit"
        if first is None
        else f"DIVERGED at turn {first.turn} ({first.stage}: {', '.join(first.fields)}); "
        f"{doc['divergent_turns']} turn(s) differ"
    )
    emit(
        args,
        doc,
        f"session {report.session_id}: {report.turns} turns replayed with {report.model_version} "
        f"from {report.source} at {report.speed_x_realtime:.1f}x real time\n{verdict}",
    )
    return 0 if report.identical else EXIT_DIVERGED


def _what_if(args: argparse.Namespace, recording: Recording) -> int:
    from inference.harness import Harness
    from replay.evaluation import EvaluationError, load_model
    from replay.offline import HarnessNetwork
    from replay.session import what_if

    try:
        model = load_model(args.model)
    except EvaluationError as exc:
        raise CommandError(f"{exc}; pass a checkpoint written by save_checkpoint", exit_code=2) from exc
    from streams.redaction import RedactionSettings, Redactor

    redactor = Redactor(RedactionSettings.from_env())
    doc = what_if(recording, HarnessNetwork(model) if isinstance(model, Harness) else model, redactor).as_dict()
    emit(args, doc, _what_if_text(doc))
    return 0


def _what_if_text(doc: dict[str, Any]) -> str:
    latency = doc["latency_ms"]
    lines = [
        f"what-if {doc['session_id']}: {doc['recorded_version']} (recorded) -> {doc['model_version']}, "
        f"{doc['turns']} turns",
        f"changed: {doc['turns_changed']} turns; actions {doc['actions_changed']} {doc['action_changes'] or ''}; "
        f"text {doc['text_changed']}; audio {doc['audio_changed']}",
        f"latency: recorded median {latency['recorded_median']} ms (Triton request), "
        f"what-if median {latency['what_if_median']} ms (offline step)",
    ]
    if doc["first_divergence"]:
        first = doc["first_divergence"]
        lines.append(f"first divergence: turn {first['turn']} ({', '.join(first['fields'])})")
        lines.append(f"{'turn':>5}  {'action':24} {'audio max|diff|':>15}  text (recorded -> what-if)")
        for d in doc["differences"][:20]:
            action = " -> ".join(d["action"]) if d["action"][0] != d["action"][1] else d["action"][0]
            lines.append(
                f"{d['turn']:>5}  {action:24} {d['audio_max_abs_diff']:>15}  {d['text'][0]!r} -> {d['text'][1]!r}"
            )
        if len(doc["differences"]) > 20:
            lines.append(f"... {len(doc['differences']) - 20} more (--json lists all)")
    else:
        lines.append("identical: every output is the same as recorded")
    return "\n".join(lines)


def replay_command(args: argparse.Namespace) -> int:
    from infra.cli.progress import progress  # here, not at module level: it imports threading (start-up time)

    with progress(f"replaying {args.session}"):
        recording = _recording(args)
        return _what_if(args, recording) if args.model else _exact(args, recording)


def export_command(args: argparse.Namespace) -> int:
    from replay.export import FORMATS, export

    out = Path(args.out)
    if args.format == "full-duplex-bench":
        import json

        from replay.export.fdb import write_fdb

        folder = write_fdb(_recording(args), out)
        heard = json.loads((folder / "microturn.json").read_text())["model_audio"]
        emit(
            args,
            {"path": str(folder), "format": "full-duplex-bench", "session_id": args.session, "model_audio": heard},
            f"wrote {folder}/ (input.wav, output.wav, microturn.json): Full-Duplex-Bench v1 layout; "
            f"{_heard_text(heard)}",
        )
        return 0
    if out.suffix.lower() not in FORMATS:
        raise CommandError(f"OUT must end in .wav or .mp4; got {args.out!r}", exit_code=2)
    from infra.cli.progress import progress

    with progress(f"exporting {args.session} to {out.name}"):
        summary = export(_recording(args), out)
    emit(
        args,
        summary.as_dict(),
        f"wrote {out}: {summary.duration_ms / 1000:.1f} s of session "
        f"{summary.session_id} ({', '.join(summary.streams)}); {_heard_text(summary.model_audio)}",
    )
    return 0


def _heard_text(heard: dict[str, Any]) -> str:
    if heard["basis"] == "unconfirmed":
        return "model audio: every output (no carrier confirmed playback)"
    return (
        f"model audio: only what the caller heard ({len(heard['played_turns'])} turns played; "
        f"{len(heard['cleared_turns'])} cleared and {len(heard['unconfirmed_turns'])} unconfirmed left silent)"
    )


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "replay",
        help="replay a session offline: exact (bit for bit) or what-if (--model)",
        description=REPLAY_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_source_flags(parser)
    parser.add_argument(
        "--model", metavar="CHECKPOINT_OR_MODEL", help="what-if: replay with these weights, or 'harness', instead"
    )
    parser.set_defaults(func=replay_command)
    text = (
        "write a session as stereo WAV (left caller, right model) or MP4 (+ video, subtitles), or in "
        "Full-Duplex-Bench v1's layout (--format full-duplex-bench: OUT is a folder, the session goes in OUT/SESSION/)"
    )
    parser = sub.add_parser("export", help=text, description=text)
    _add_source_flags(parser)
    parser.add_argument("out", metavar="OUT", help="OUT.wav or OUT.mp4, or a folder with --format full-duplex-bench")
    parser.add_argument(
        "--format",
        choices=("file", "full-duplex-bench"),
        default="file",
        help="file (default: the suffix of OUT decides) or full-duplex-bench (input.wav + output.wav per session)",
    )
    parser.set_defaults(func=export_command)
