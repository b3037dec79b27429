"""`microturn serve twilio|ws` (live ingress servers) and `microturn call` (a phone-less caller)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra.cli.common import EXIT_BAD_INPUT, EXIT_FAILED, CommandError, add_json_flag, add_stack_flags, emit, endpoints

if TYPE_CHECKING:  # the ingress stack is imported by the commands that run it, not by `--help`
    from streams.ingress import IngressSettings
    from streams.ingress.server import CallProtocol

TWILIO_TOKEN_ENV = "TWILIO_AUTH_TOKEN"
WS_TOKEN_ENV = "MICROTURN_WS_TOKEN"
WS_TOKENS_ENV = "MICROTURN_WS_TOKENS"
"""PRINCIPAL=TOKEN,... : one token per principal (calls per principal are capped); overrides WS_TOKEN_ENV."""


def _protocol(args: argparse.Namespace) -> CallProtocol:
    from streams.ingress import PcmProtocol, TwilioProtocol

    if args.protocol == "twilio":
        return TwilioProtocol(os.environ.get(TWILIO_TOKEN_ENV, ""), public_url=args.public_url)
    named = os.environ.get(WS_TOKENS_ENV, "")
    if named:
        return PcmProtocol(dict(_parse_pairs(named.split(","), "=", WS_TOKENS_ENV)))
    return PcmProtocol(os.environ.get(WS_TOKEN_ENV, ""))


def serve(args: argparse.Namespace) -> int:
    from schemas import Topics  # here, not at module level: it imports dataclasses (start-up time)
    from streams.ingress import IngressSettings
    from streams.ingress.errors import ConfigError
    from streams.redaction import RedactionSettings

    bootstrap, _, prefix = endpoints(args)
    try:
        protocol = _protocol(args)
        settings = IngressSettings(
            bootstrap=bootstrap,
            topics=Topics(prefix),
            host=args.host,
            port=args.port,
            max_calls=args.max_calls,
            max_message_bytes=args.max_message_bytes,
            idle_timeout_s=args.idle_timeout,
            audio_burst_ms=args.audio_burst_ms,
            max_call_s=args.max_call_s,
            max_calls_per_principal=args.max_calls_per_principal,
            redaction=RedactionSettings.from_env(),
        )
    except ConfigError as exc:
        raise CommandError(str(exc), EXIT_BAD_INPUT) from exc
    import uvloop  # the server's time goes to socket reads and writes (docs/performance.md): uvloop does them in C

    return uvloop.run(_serve(settings, protocol, args))


async def _serve(settings: IngressSettings, protocol: CallProtocol, args: argparse.Namespace) -> int:
    import asyncio  # here, not at module level: `--help` and `query` do not use it
    import signal

    from streams.ingress import IngressServer

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    from streams import tracing
    from streams.metrics import serve_metrics

    metrics_port = serve_metrics()
    tracing.setup(f"ingress-{protocol.name}")
    async with IngressServer(settings, protocol) as server:
        metrics_url = f"http://127.0.0.1:{metrics_port}/metrics" if metrics_port else None
        health = [f"http://{settings.host}:{server.port}{path}" for path in ("/healthz", "/readyz")]
        doc: dict[str, Any] = {
            "protocol": protocol.name,
            "url": server.url,
            "port": server.port,
            "topic_prefix": settings.topics.prefix,
            "health": health,
            "metrics": [metrics_url] if metrics_url else [],
        }
        if protocol.name == "twilio":
            doc["twiml"] = f"http://{settings.host}:{server.port}/twiml"
        emit(
            args,
            doc,
            f"microturn serve {protocol.name}: listening on {server.url} (Ctrl-C stops)\n"
            f"metrics: {metrics_url or 'off'}; health: {health[0]}",
        )
        sys.stdout.flush()
        await stop.wait()
        print(f"stopping; ending {server.active_calls} live call(s)", file=sys.stderr, flush=True)
    return 0


def _parse_pairs(values: list[str] | None, sep: str, what: str) -> list[tuple[str, str]]:
    pairs = []
    for value in values or []:
        key, found, rest = value.partition(sep)
        if not found or not key:
            raise CommandError(f"{what}: expected KEY{sep}VALUE; got {value!r}", EXIT_BAD_INPUT)
        pairs.append((key, rest))
    return pairs


def call(args: argparse.Namespace) -> int:
    import asyncio  # here, not at module level: `--help` and `query` do not use it

    from streams.ingress.twilio import caller_audio, place_call

    token = os.environ.get(TWILIO_TOKEN_ENV, "")
    if not token:
        raise CommandError(f"set {TWILIO_TOKEN_ENV} to the token the server checks signatures with", EXIT_BAD_INPUT)
    path = Path(args.file)
    out = Path(args.out) if args.out else Path(f"{path.stem}-reply.wav")
    params = dict(_parse_pairs(args.param, "=", "--param"))
    try:
        dtmf = [(float(at), digit) for at, digit in _parse_pairs(args.dtmf, ":", "--dtmf")]
    except ValueError as exc:
        raise CommandError(f"--dtmf: expected SECONDS:DIGIT; {exc}", EXIT_BAD_INPUT) from exc
    codes = caller_audio(path)  # MediaError -> exit 2, nothing sent
    if not args.json:
        print(f"calling {args.twilio} with {path.name} ({len(codes) / 8000:.1f} s, real time)", file=sys.stderr)
    result = asyncio.run(place_call(args.twilio, token, codes, tail_s=args.tail, dtmf=dtmf, parameters=params))
    result.write_wav(out)
    doc = _summary(result, out, len(codes))
    latency = doc["mouth_to_ear_ms"]
    emit(
        args,
        doc,
        f"{doc['stream_sid']}: sent {doc['sent_s']} s, heard {doc['model_audio_s']} s of model audio in "
        f"{doc['turns_heard']} turns, {doc['marks']} marks, {doc['clears']} clears; wrote {out}\n"
        f"mouth-to-ear p50 {latency['p50']} ms, max {latency['max']} ms; "
        f"server closed {doc['close_code']} {doc['close_reason']}",
    )
    return EXIT_FAILED if result.server_closed and result.close_code != 1000 else 0


def _summary(result: Any, out: Path, caller_samples: int) -> dict[str, Any]:
    import statistics  # here, not at module level: start-up time

    latencies = result.mouth_to_ear_ms()
    return {
        "stream_sid": result.stream_sid,
        "sent_s": round(len(result.sent_ns) * 0.02, 2),
        "caller_audio_s": round(caller_samples / 8000, 2),
        "model_audio_s": round(result.frames_received * 0.02, 2),
        "turns_heard": len(result.first_frame_ns),
        "marks": len(result.marks),
        "clears": result.clears,
        "mouth_to_ear_ms": {
            "p50": round(statistics.median(latencies), 1) if latencies else None,
            "max": round(max(latencies), 1) if latencies else None,
        },
        "server_closed": result.server_closed,
        "close_code": result.close_code,
        "close_reason": result.close_reason,
        "wav": str(out),
    }


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    text = "run a live ingress server: Twilio Media Streams or 16 kHz PCM over WebSocket"
    p = sub.add_parser("serve", help=text, description=text + ". Each call becomes a session; model speech goes back.")
    p.add_argument(
        "protocol",
        choices=("twilio", "ws"),
        help=f"twilio: Media Streams, signed with ${TWILIO_TOKEN_ENV}; ws: PCM with bearer ${WS_TOKEN_ENV} "
        f"(or ${WS_TOKENS_ENV}=NAME=TOKEN,...)",
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one, printed)")
    p.add_argument(
        "--public-url",
        help="twilio: scheme and host Twilio connects to, e.g. wss://calls.example.com, "
        "when a proxy sits in front (the signature covers the URL)",
    )
    p.add_argument("--max-calls", type=int, default=100, help="concurrent calls; more get HTTP 503 (default 100)")
    p.add_argument(
        "--max-message-bytes",
        type=int,
        default=64 * 1024,
        help="largest WebSocket message; a larger one aborts its call (default 65536)",
    )
    p.add_argument("--idle-timeout", type=float, default=10.0, help="seconds of peer silence that abort a call")
    p.add_argument(
        "--audio-burst-ms",
        type=int,
        default=2000,
        help="how far a call's audio may run ahead of real time; faster audio ends it, close 1008 (default 2000)",
    )
    p.add_argument(
        "--max-call-s", type=float, default=4 * 3600.0, help="longest call in seconds of audio (default 14400)"
    )
    p.add_argument(
        "--max-calls-per-principal",
        type=int,
        default=None,
        help=f"concurrent calls per token (${WS_TOKENS_ENV}) or Twilio account; more get HTTP 429 "
        "(default: --max-calls)",
    )
    add_stack_flags(p)
    add_json_flag(p)
    p.set_defaults(func=serve)

    text = "play a recording into a Twilio ingress server as a live call and save what came back"
    p = sub.add_parser("call", help=text, description=text + f". Signs the request with ${TWILIO_TOKEN_ENV}.")
    p.add_argument("file", help="the caller's recording: any media PyAV reads (8 kHz mu-law WAV is sent as is)")
    p.add_argument("--twilio", required=True, metavar="URL", help="the server's ws:// or wss:// URL")
    p.add_argument("--out", help="WAV of what the caller heard (default: FILE-reply.wav here)")
    p.add_argument("--tail", type=float, default=2.0, help="seconds of silence after the recording (default 2)")
    p.add_argument("--param", action="append", metavar="KEY=VALUE", help="a customParameter of the stream (repeatable)")
    p.add_argument("--dtmf", action="append", metavar="SECONDS:DIGIT", help="a key press at that time (repeatable)")
    add_json_flag(p)
    p.set_defaults(func=call)
