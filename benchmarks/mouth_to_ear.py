"""Mouth-to-ear latency of live Twilio calls through the whole pipeline, at 1 and 20 calls at once.

Everything is real and local: a Kafka broker, Triton with the reference model and one worker
(started in a temporary state dir unless --kafka/--triton are given), and `microturn serve
twilio` as its own process. This process plays the callers: each call streams --seconds of a
caller who talks (a tone) 0.6 s of every 1.2 s, as 20 ms mu-law frames in real time, then a 1 s
silent tail, and plays back what comes like Twilio's media buffer (`streams.ingress.place_call`).
Calls of a round start spread over one 200 ms turn, as independent callers would.

Mouth-to-ear, per model turn that came back with audio: the wall time the caller sent the last
20 ms frame of turn k (the frame that completes the turn) -> the wall time the first frame of the
model's audio for turn k arrived. Client and servers share one clock (one machine). The output
topic is read alongside to split it into: ingress (frame sent -> AudioChunk published by the
server), pipeline (chunk published -> ModelOutput made by the worker: assembly, Triton,
Kafka hops) and egress (output made -> first frame at the caller: the worker's Kafka send, the
server's router, resampling, mu-law, WebSocket). Percentiles are nearest-rank. CPU per process
(in cores, over the round) shows where the machine's time went; on a shared machine the load
average says how much else ran. The run is bounded: every round has a hard deadline, and the
servers it started are stopped at the end.

    .venv/bin/python benchmarks/mouth_to_ear.py [--seconds 10] [--calls 1,20] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.live_common import CACHE, LINGER_S, TAIL_S, caller, cpu_seconds, start_server, stats
from infra.stack import Stack, StackSettings
from schemas import Topics
from streams.ingress import CallResult, place_call
from streams.tail import Captured, OutputTail


@dataclass(frozen=True)
class Target:
    """The server under test and where its sessions' outputs appear."""

    url: str
    token: str
    bootstrap: str
    topics: Topics


async def one_call(target: Target, sid: str, audio: bytes, delay_s: float) -> CallResult:
    await asyncio.sleep(delay_s)
    return await place_call(target.url, target.token, audio, tail_s=TAIL_S, stream_sid=sid, linger_s=LINGER_S)


async def run_round(target: Target, calls: int, seconds: float) -> dict[str, Any]:
    sids = [f"MZbench{calls:02d}x{i:02d}{uuid.uuid4().hex[:8]}" for i in range(calls)]
    async with OutputTail(target.bootstrap, target.topics.output, sessions=sids) as capture:
        placing = asyncio.gather(
            *(one_call(target, sid, caller(seconds, 200.0 + 37.0 * i), 0.2 * i / calls) for i, sid in enumerate(sids))
        )
        consuming = asyncio.create_task(capture.until(lambda _: placing.done(), timeout_s=seconds + 60))
        results = await placing
        await consuming
    outputs: dict[tuple[str, int], Captured] = {
        (sid, c.output.seq): c for sid in sids for c in capture.outputs.get(sid, [])
    }
    total: list[float] = []
    ingress: list[float] = []
    pipeline: list[float] = []
    egress: list[float] = []
    lag: list[float] = []
    model = [c.output.model_ms for c in outputs.values()]
    for result in results:
        for turn, received in result.first_frame_ns.items():
            last = 10 * turn + 9
            if last >= len(result.sent_ns):
                continue
            sent = result.sent_ns[last]
            total.append((received - sent) / 1e6)
            out = outputs.get((result.stream_sid, turn))
            if out is not None:
                ingress.append((out.output.input_wall_time_ns - sent) / 1e6)
                pipeline.append((out.output.wall_time_ns - out.output.input_wall_time_ns) / 1e6)
                egress.append((received - out.output.wall_time_ns) / 1e6)
        start = result.sent_ns[0]
        lag.extend((ns - start) / 1e6 - 20 * i for i, ns in enumerate(result.sent_ns))
    return {
        "calls": calls,
        "calls_ended_ok": sum(r.server_closed and r.close_code == 1000 for r in results),
        "turns_sent": sum(len(r.sent_ns) // 10 for r in results),
        "turns_with_model_audio": len(total),
        "clears": sum(r.clears for r in results),
        "mouth_to_ear_ms": stats(total),
        "ingress_ms": stats(ingress),
        "pipeline_ms": stats(pipeline),
        "egress_ms": stats(egress),
        "caller_send_lag_ms": stats(lag),
        "model_ms": stats(model),
    }


def print_report(report: dict[str, Any]) -> None:
    docs = report["rounds"]
    print(report["machine"])
    print(
        f"{'calls':>5} {'ok':>3} {'turns':>6} {'heard':>6}  {'mouth-to-ear p50/p99/max ms':>28}  "
        f"{'ingress p50/p99':>16} {'pipeline p50/p99':>17} {'egress p50/p99':>15} {'model p50':>9} "
        f"{'send lag p99':>12}"
    )
    for doc in docs:
        m, i, p, e = doc["mouth_to_ear_ms"], doc["ingress_ms"], doc["pipeline_ms"], doc["egress_ms"]
        heard = doc["turns_with_model_audio"]
        counts = f"{doc['calls']:>5} {doc['calls_ended_ok']:>3} {doc['turns_sent']:>6} {heard:>6}"
        print(
            f"{counts}  "
            f"{m.get('p50', '-'):>10} / {m.get('p99', '-'):>6} / {m.get('max', '-'):>6}  "
            f"{i.get('p50', '-'):>7} / {i.get('p99', '-'):>6} {p.get('p50', '-'):>8} / {p.get('p99', '-'):>6} "
            f"{e.get('p50', '-'):>6} / {e.get('p99', '-'):>6} {doc['model_ms'].get('p50', '-'):>9} "
            f"{doc['caller_send_lag_ms'].get('p99', '-'):>12}"
        )
    for doc in docs:
        shares = ", ".join(f"{name} {share:.2f}" for name, share in doc["cpu_share_of_one_core"].items())
        print(f"{doc['calls']:>5} calls, CPU in cores: {shares}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="caller audio per call (default 10 s)")
    parser.add_argument("--calls", default="1,20", help="simultaneous calls per round, comma-separated")
    parser.add_argument("--kafka", help="use this broker instead of starting one")
    parser.add_argument("--triton", help="use this Triton (host:port gRPC) instead of starting one")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rounds = [int(n) for n in args.calls.split(",")]
    token = secrets.token_hex(16)

    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    docs = []
    with tempfile.TemporaryDirectory() as tmp:
        prefix = f"bench-{uuid.uuid4().hex[:6]}"
        stack = Stack(
            StackSettings(
                state_dir=Path(tmp) / "stack",
                cache_dir=CACHE,
                kafka=args.kafka,
                triton=args.triton,
                topic_prefix=prefix,
            )
        )
        status = stack.up(say)
        bootstrap = args.kafka or status["kafka"]["bootstrap"]
        server = None
        try:
            server, url = start_server(bootstrap, prefix, Path(tmp) / "stack", token)
            target = Target(url, token, bootstrap, Topics(prefix))
            say("warm-up call (not measured)")
            asyncio.run(asyncio.wait_for(run_round(target, 1, 2.0), 60))
            pids = {
                "ingress server": server.pid,
                "callers": os.getpid(),
                **{name: status[name]["pid"] for name in ("kafka", "triton") if status[name].get("pid")},
                **{w["name"]: w["pid"] for w in status["workers"]},
            }
            for calls in rounds:
                say(f"{calls} simultaneous call(s) of {args.seconds:g} s")
                deadline = args.seconds + TAIL_S + LINGER_S + 60
                before = {name: cpu_seconds(pid, name != "callers") for name, pid in pids.items()}
                started = time.monotonic()
                doc = asyncio.run(asyncio.wait_for(run_round(target, calls, args.seconds), deadline))
                wall = time.monotonic() - started
                doc["cpu_share_of_one_core"] = {
                    name: round((cpu_seconds(pid, name != "callers") - before[name]) / wall, 2)
                    for name, pid in pids.items()
                }
                docs.append(doc)
        finally:
            if server is not None:
                server.send_signal(signal.SIGINT)
                try:
                    server.wait(30)
                except subprocess.TimeoutExpired:
                    server.kill()
            stack.down(say)
    report = {
        "machine": f"{platform.machine()} {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end, "
        f"{platform.python_implementation()} {platform.python_version()}",
        "seconds_per_call": args.seconds,
        "rounds": docs,
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)


if __name__ == "__main__":
    main()
