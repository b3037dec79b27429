"""Per-micro-turn model latency and throughput through a real Triton server, on this machine.

For each concurrency level N, N sessions run as live calls: every session sends one turn every
200 ms (staggered across the period), and the latency of each request is recorded; p50/p99 over
all turns of all sessions. Throughput is measured separately with the same N sessions sending
turns back to back (turns/s across all sessions). The server is started here (tiny config,
seeded weights unless MICROTURN_MODEL_CHECKPOINT is set) on free loopback ports.

    .venv/bin/python benchmarks/model_triton.py [--levels 1 8 32 64] [--turns 25] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from inference.client import InteractionClient
from inference.network.turns import TurnInput
from infra import process
from infra.triton import MARKER, TritonServer

TURN_S = 0.2


def make_request(turn: int, seed: int) -> TurnInput:
    rng = np.random.default_rng(seed)
    loud = (turn // 5 + seed) % 2 == 0
    audio = (rng.standard_normal(3200) * (5000 if loud else 50)).astype(np.int16)
    return TurnInput(f"bench{seed}", turn, audio, None)


async def session(client: InteractionClient, name: str, turns: int, paced: bool, offset_s: float) -> list[float]:
    latencies = []
    start = time.perf_counter() + offset_s
    for turn in range(turns):
        if paced:
            delay = start + turn * TURN_S - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        began = time.perf_counter()
        await client.step(name, make_request(turn, hash(name) % 1000), start=turn == 0, end=turn == turns - 1)
        latencies.append((time.perf_counter() - began) * 1000)
    return latencies


async def level(url: str, sessions: int, turns: int, tag: str) -> dict[str, float]:
    client = InteractionClient(url, timeout_s=30)
    try:
        paced = await asyncio.gather(
            *(session(client, f"{tag}-p{i}", turns, True, TURN_S * i / sessions) for i in range(sessions))
        )
        began = time.perf_counter()
        await asyncio.gather(*(session(client, f"{tag}-f{i}", turns, False, 0) for i in range(sessions)))
        elapsed = time.perf_counter() - began
    finally:
        await client.close()
    flat = sorted(x for run in paced for x in run)
    return {
        "sessions": sessions,
        "turns": len(flat),
        "p50_ms": round(statistics.median(flat), 2),
        "p99_ms": round(flat[min(len(flat) - 1, int(0.99 * len(flat)))], 2),
        "max_ms": round(flat[-1], 2),
        "throughput_turns_per_s": round(sessions * turns / elapsed, 1),
        "realtime_capacity_sessions": round(sessions * turns / elapsed * TURN_S, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 8, 32, 64])
    parser.add_argument("--turns", type=int, default=25, help="turns per session per level (default 25 = 5 s)")
    parser.add_argument("--triton", help="use this gRPC endpoint instead of starting a server")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        pid, url = None, args.triton
        if url is None:
            server = TritonServer(Path(tmp) / "triton", process.free_port(), process.free_port())
            pid = server.start(env={"MICROTURN_MODEL_MAX_SESSIONS": "512"})
            url = server.grpc_url
        try:
            asyncio.run(level(url, 4, 5, "warmup"))
            rows = [asyncio.run(level(url, n, args.turns, f"n{n}")) for n in args.levels]
        finally:
            if pid is not None:
                process.stop(pid, MARKER)
    doc = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, CPU only",
        "model": "interaction (tiny)",
        "levels": rows,
    }
    if args.json:
        print(json.dumps(doc, indent=2))
        return
    print(f"{doc['machine']}; {doc['model']}; paced at one turn per 200 ms per session")
    print(f"{'sessions':>8} {'turns':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'turns/s':>9} {'RT capacity':>12}")
    for r in rows:
        print(
            f"{r['sessions']:>8} {r['turns']:>6} {r['p50_ms']:>8} {r['p99_ms']:>8} {r['max_ms']:>8} "
            f"{r['throughput_turns_per_s']:>9} {r['realtime_capacity_sessions']:>12}"
        )


if __name__ == "__main__":
    main()
