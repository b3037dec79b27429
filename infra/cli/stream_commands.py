"""`microturn stream` and `microturn demo`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inference.models import MODEL, MODELS, SESSION_MODEL_KEY
from infra.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_TRUNCATED,
    CommandError,
    add_json_flag,
    add_stack_flags,
    emit,
    endpoints,
    say_for,
    session_id_arg,
    stack_from,
)

if TYPE_CHECKING:  # media decoding and Kafka clients are imported by the commands that use them, not by `--help`
    from streams.media import TextLine
    from streams.publish import StreamSummary
    from streams.tail import Captured

SAMPLE_CALL = Path(__file__).resolve().parents[2] / "streams" / "samples" / "call.wav"


async def _publish(
    bootstrap: str,
    prefix: str,
    path: Path,
    session_id: str,
    realtime: bool,
    texts: list[TextLine],
    progress: bool,
    metadata: dict[str, str] | None = None,
) -> StreamSummary:
    def on_turn(turn: int) -> None:
        if progress and turn % 25 == 0:
            print(f"\r{session_id}: {turn * 0.2:7.1f} s sent", end="", file=sys.stderr, flush=True)

    from schemas import Topics  # here, not at module level: it imports dataclasses (start-up time)
    from streams.publish import publish_file
    from streams.redaction import RedactionSettings, Redactor

    redactor = Redactor(RedactionSettings.from_env())  # ConfigError (exit 2) before anything is sent
    summary = await publish_file(
        bootstrap,
        Topics(prefix),
        path,
        session_id,
        realtime,
        texts,
        on_turn,
        new_session=True,
        metadata=metadata,
        redactor=redactor,
    )
    if progress:
        print(file=sys.stderr)
    return summary


def _texts(args: argparse.Namespace) -> list[TextLine]:
    from streams.media import parse_text_arg, read_transcript

    lines = [parse_text_arg(value) for value in args.text or []]
    if args.transcript:
        lines.extend(read_transcript(Path(args.transcript)))
    return lines


def _metadata(args: argparse.Namespace) -> dict[str, str]:
    """SessionStarted.metadata from --model and --labels (a labels file is checked before anything is sent)."""
    metadata: dict[str, str] = {}
    if args.model:
        metadata[SESSION_MODEL_KEY] = args.model
    if args.labels:
        from replay.evaluation.errors import LabelError
        from replay.evaluation.labels import LABELS_KEY, read_labels

        try:
            metadata[LABELS_KEY] = read_labels(Path(args.labels)).to_json()
        except LabelError as exc:
            raise CommandError(str(exc), EXIT_BAD_INPUT) from exc
    return metadata


def default_session_id(path: Path) -> str:
    """The file's name, reduced to the session id alphabet, and a random suffix."""
    import re  # here, not at module level: these cost start-up time, which parsing does not need
    import uuid

    stem = re.sub(r"[^A-Za-z0-9._:-]", "_", path.stem)[:100] or "session"
    return f"{stem}-{uuid.uuid4().hex[:8]}"


def stream(args: argparse.Namespace) -> int:
    import asyncio  # here, not at module level: `--help` and `query` do not use it

    from streams.errors import SessionExists
    from streams.media import MediaError

    """All input is checked before the first event is sent (exit 2, nothing published): the session
    id (its form, and that the log holds no session of that id), the text arguments and transcript,
    and the media file (probed)."""
    from streams import tracing

    tracing.setup("stream")
    path = Path(args.file)
    session_id = args.session or default_session_id(path)
    try:
        texts = _texts(args)
    except MediaError as exc:
        raise CommandError(str(exc), EXIT_BAD_INPUT) from exc
    metadata = _metadata(args)
    bootstrap, _, prefix = endpoints(args)
    try:
        summary = asyncio.run(
            _publish(
                bootstrap,
                prefix,
                path,
                session_id,
                args.realtime,
                texts,
                progress=sys.stderr.isatty(),
                metadata=metadata,
            )
        )
    except (MediaError, SessionExists) as exc:
        raise CommandError(str(exc), EXIT_BAD_INPUT) from exc
    doc = summary.as_dict()
    emit(
        args,
        doc,
        f"{summary.session_id}: {summary.status}, {summary.audio_chunks} audio chunks, {summary.video_frames} "
        f"video frames, {summary.text_events} text events, {summary.duration_ms / 1000:.1f} s"
        + (f"\n{summary.detail}" if summary.detail else ""),
    )
    return EXIT_TRUNCATED if summary.status == "truncated" else 0


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _demo(
    bootstrap: str, prefix: str, path: Path, session_id: str, quiet: bool, timeout_s: float
) -> dict[str, Any]:
    import asyncio  # here, not at module level: `--help` and `query` do not use it
    import statistics

    from schemas import Topics
    from streams.tail import OutputTail, sessions_complete

    topics = Topics(prefix)

    def line(c: Captured) -> None:
        if not quiet:
            out = c.output
            shown = out.text if out.text.isprintable() else f"<{len(out.text.encode())} bytes of text>"
            text = f"  {shown}" if out.text else ""
            print(
                f"turn {out.seq:4d}  {out.action:<11}  latency {c.latency_ms:7.1f} ms  "
                f"model {out.model_ms:6.1f} ms{text}",
                flush=True,
            )

    async with OutputTail(bootstrap, topics.output, sessions=[session_id]) as capture:
        publish = asyncio.create_task(_publish(bootstrap, prefix, path, session_id, True, [], progress=False))
        await capture.until(sessions_complete([session_id]), timeout_s, on_output=line)
        summary = await publish
    got = sorted(capture.outputs[session_id], key=lambda c: c.output.seq)
    latencies = [c.latency_ms for c in got]
    actions: dict[str, int] = {}
    for c in got:
        actions[c.output.action] = actions.get(c.output.action, 0) + 1
    return {
        "session_id": session_id,
        "input": summary.as_dict(),
        "turns": len(got),
        "actions": actions,
        "model_version": got[-1].output.model_version if got else "",
        "latency_ms": {
            "p50": round(statistics.median(latencies), 1),
            "p95": round(_percentile(latencies, 0.95), 1),
            "max": round(max(latencies), 1),
        },
        "model_ms_p50": round(statistics.median(c.output.model_ms for c in got), 2),
    }


def demo(args: argparse.Namespace) -> int:
    import asyncio  # here, not at module level: `--help` and `query` do not use it
    import uuid

    from streams.media import MediaError

    stack = stack_from(args)
    stack.up(say_for(args))
    bootstrap, _, prefix = endpoints(args)
    path = Path(args.file) if args.file else SAMPLE_CALL
    session_id = f"demo-{uuid.uuid4().hex[:8]}"
    if not args.json:
        print(f"streaming {path.name} in real time as session {session_id}\n")
    try:
        doc = asyncio.run(_demo(bootstrap, prefix, path, session_id, args.json, args.timeout))
    except MediaError as exc:
        raise CommandError(str(exc), EXIT_BAD_INPUT) from exc
    lat = doc["latency_ms"]
    emit(
        args,
        doc,
        f"\n{doc['turns']} micro-turns, actions {doc['actions']}, model {doc['model_version']}\n"
        f"end-to-end latency p50 {lat['p50']} ms, p95 {lat['p95']} ms, max {lat['max']} ms; "
        f"model p50 {doc['model_ms_p50']} ms",
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    text = "publish a recording as one session's 200 ms events"
    p = sub.add_parser(
        "stream",
        help=text,
        description=text + ". Exit 2: bad input (file, text, transcript, session id, or an id that already exists), "
        "nothing sent; 3: input broke midway, what decoded was sent.",
    )
    p.add_argument("file", help="any media PyAV reads: WAV (incl. 8 kHz mu-law), FLAC, MP3, Ogg/Opus, WebM, MP4")
    p.add_argument(
        "--session",
        type=session_id_arg,
        help="session id, 1-128 of [A-Za-z0-9._:-], not used before (default: file name + random suffix)",
    )
    p.add_argument(
        "--realtime",
        action="store_true",
        help="pace events like a live call (default: as fast as the broker takes them)",
    )
    p.add_argument(
        "--text", action="append", metavar="SECONDS:TEXT", help="a text event at that session time (repeatable)"
    )
    p.add_argument("--transcript", metavar="FILE.jsonl", help='timed text lines: {"t": seconds, "text": ...} per line')
    p.add_argument(
        "--model",
        choices=MODELS,
        default=None,
        help=f"the Triton model that answers this session (SessionStarted.metadata[{SESSION_MODEL_KEY!r}]; "
        f"default {MODEL!r})",
    )
    p.add_argument(
        "--labels",
        metavar="FILE.json",
        help="turn-taking ground truth for `microturn eval` (a corpus dialogue's labels file), recorded in "
        "SessionStarted.metadata",
    )
    add_stack_flags(p)
    add_json_flag(p)
    p.set_defaults(func=stream)

    text = "bring the stack up, stream a sample call in real time, print every micro-turn"
    p = sub.add_parser("demo", help=text, description=text)
    p.add_argument("file", nargs="?", help="a recording to use instead of the bundled sample call")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for all outputs (default 120)")
    add_stack_flags(p)
    add_json_flag(p)
    p.set_defaults(func=demo)
