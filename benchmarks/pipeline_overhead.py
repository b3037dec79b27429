"""The pipeline's own overhead per micro-turn, next to the broker's end-to-end latency floor.

Overhead of a turn = (ModelOutput received by a consumer - its audio chunk produced) - the
model's time for the turn (the Triton round trip measured by the worker). Measured with N
sessions streamed in real time at once (N = 1, 10, 50 by default) through a local stack started
here (Kafka, Triton, one worker). The floor is Kafka's own `org.apache.kafka.tools.EndToEndLatency`
(produce -> consume round trip, acks=all, same message size) on the same broker in the same run.

    .venv/bin/python benchmarks/pipeline_overhead.py [--levels 1 10 50] [--seconds 6] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import statistics
import subprocess
import tempfile
import uuid
import wave
from pathlib import Path

import numpy as np

from infra.kafka import jar_dir
from infra.stack import Stack, StackSettings
from schemas import Topics
from streams.publish import publish_file
from streams.tail import OutputTail, sessions_complete

CACHE = Path(os.environ.get("MICROTURN_CACHE_DIR", Path.home() / ".cache" / "microturn"))


def write_call(path: Path, seconds: float, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16_000)) / 16_000
    pcm = (np.sin(2 * np.pi * 150 * t) * 8000 * (t % 1.2 < 0.8) + rng.standard_normal(t.size) * 30).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16_000)
        out.writeframes(pcm.tobytes())
    return path


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


async def level(bootstrap: str, topics: Topics, call: Path, sessions: int, seconds: float) -> dict[str, float]:
    names = [f"n{sessions}-{i}-{uuid.uuid4().hex[:6]}" for i in range(sessions)]
    async with OutputTail(bootstrap, topics.output, sessions=names) as capture:
        # Consume while publishing: a receive time taken after the fact would measure the wait.
        streams = [asyncio.create_task(publish_file(bootstrap, topics, call, name, realtime=True)) for name in names]
        await capture.until(sessions_complete(names), timeout_s=60 + seconds * 4)
        await asyncio.gather(*streams)
    got = [c for name in names for c in capture.outputs[name]]
    end_to_end = [c.latency_ms for c in got]
    overhead = [c.latency_ms - c.output.model_ms for c in got]
    return {
        "sessions": sessions,
        "turns": len(got),
        "end_to_end_p50_ms": pct(end_to_end, 0.5),
        "end_to_end_p99_ms": pct(end_to_end, 0.99),
        "model_p50_ms": round(statistics.median(c.output.model_ms for c in got), 2),
        "overhead_p50_ms": pct(overhead, 0.5),
        "overhead_p99_ms": pct(overhead, 0.99),
    }


def broker_floor(bootstrap: str, topic: str, messages: int, size: int) -> dict[str, float]:
    out = subprocess.run(
        [
            "java",
            "-cp",
            f"{jar_dir(CACHE)}/*",
            "org.apache.kafka.tools.EndToEndLatency",
            bootstrap,
            topic,
            str(messages),
            "all",
            str(size),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    text = out.stdout
    avg = re.search(r"Avg latency: ([\d.]+) ms", text)
    percentiles = re.search(r"50th = ([\d.]+), 99th = ([\d.]+)", text)
    if avg is None or percentiles is None:
        raise RuntimeError(f"unexpected EndToEndLatency output: {text[-500:]}")
    return {"avg_ms": float(avg.group(1)), "p50_ms": float(percentiles.group(1)), "p99_ms": float(percentiles.group(2))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--seconds", type=float, default=6.0, help="length of each streamed call")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        prefix = f"bench-{uuid.uuid4().hex[:6]}"
        stack = Stack(StackSettings(Path(tmp) / "stack", CACHE, topic_prefix=prefix))
        status = stack.up(say=lambda _: None)
        try:
            bootstrap, topics = status["kafka"]["bootstrap"], Topics(prefix)
            call = write_call(Path(tmp) / "call.wav", args.seconds, 0)
            asyncio.run(level(bootstrap, topics, call, 2, args.seconds))  # warm-up
            rows = [asyncio.run(level(bootstrap, topics, call, n, args.seconds)) for n in args.levels]
            floor_topic = f"{prefix}.floor"
            from infra.topics import ensure_topics

            ensure_topics(bootstrap, Topics(floor_topic))
            floor = broker_floor(bootstrap, f"{floor_topic}.output", 2000, 6600)
        finally:
            stack.down(say=lambda _: None)
    doc = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "levels": rows, "broker_floor": floor}
    if args.json:
        print(json.dumps(doc, indent=2))
        return
    print(f"{doc['machine']}; sessions streamed in real time; broker floor = Kafka EndToEndLatency, acks=all, 6600 B")
    print(f"broker floor: p50 {floor['p50_ms']} ms, p99 {floor['p99_ms']} ms, avg {floor['avg_ms']} ms")
    header = ("sessions", "turns", "e2e p50", "e2e p99", "model p50", "overhead p50", "overhead p99")
    print(" ".join(f"{h:>12}" for h in header))
    for r in rows:
        print(
            f"{r['sessions']:>8} {r['turns']:>6} {r['end_to_end_p50_ms']:>8} {r['end_to_end_p99_ms']:>8} "
            f"{r['model_p50_ms']:>9} {r['overhead_p50_ms']:>12} {r['overhead_p99_ms']:>12}"
        )


if __name__ == "__main__":
    main()
