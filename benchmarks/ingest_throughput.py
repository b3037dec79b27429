"""Ingest throughput of `microturn stream` at full speed next to the broker's own ceiling.

Both run in one process tree against the same single-node broker (started here on a free
loopback port unless --kafka is given), with the same record size and producer settings
(acks=all, idempotent): the ceiling is Kafka's own `org.apache.kafka.tools.ProducerPerformance`.
Prints events/s for each, median and spread over --runs, and the ratio.

    .venv/bin/python benchmarks/ingest_throughput.py [--seconds 600] [--runs 5] [--json]
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
import time
import uuid
import wave
from pathlib import Path

import numpy as np

from infra import process
from infra.kafka import MARKER, KafkaBroker, jar_dir
from infra.topics import ensure_topics
from schemas import AudioChunk, Topics, encode, event_id
from streams.publish import publish_file

CACHE = Path(os.environ.get("MICROTURN_CACHE_DIR", Path.home() / ".cache" / "microturn"))


def write_call(path: Path, seconds: int) -> None:
    rng = np.random.default_rng(0)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16_000)
        for _ in range(seconds):
            out.writeframes((rng.standard_normal(16_000) * 3000).astype("<i2").tobytes())


def stream_rate(bootstrap: str, topics: Topics, path: Path) -> float:
    started = time.perf_counter()
    summary = asyncio.run(publish_file(bootstrap, topics, path, f"bench-{uuid.uuid4().hex[:8]}"))
    elapsed = time.perf_counter() - started
    return (summary.audio_chunks + 2) / elapsed  # + SessionStarted and SessionEnded


def ceiling_rate(bootstrap: str, topic: str, records: int, size: int) -> float:
    out = subprocess.run(
        [
            "java",
            "-cp",
            f"{jar_dir(CACHE)}/*",
            "org.apache.kafka.tools.ProducerPerformance",
            "--topic",
            topic,
            "--num-records",
            str(records),
            "--record-size",
            str(size),
            "--throughput",
            "-1",
            "--producer-props",
            f"bootstrap.servers={bootstrap}",
            "acks=all",
            "enable.idempotence=true",
            "linger.ms=5",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    last = out.strip().splitlines()[-1]
    match = re.search(r"([\d.]+) records/sec", last)
    if match is None:
        raise RuntimeError(f"unexpected ProducerPerformance output: {last}")
    return float(match.group(1))


def summary(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 1), "min": round(min(values), 1), "max": round(max(values), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=600, help="length of the generated call (default 600 s)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--kafka", help="use this broker instead of starting one")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        pid = None
        bootstrap = args.kafka
        if bootstrap is None:
            broker = KafkaBroker(Path(tmp) / "kafka", process.free_port(), process.free_port())
            pid = broker.start(CACHE)
            bootstrap = broker.bootstrap
        try:
            topics = Topics(f"bench-{uuid.uuid4().hex[:6]}")
            ensure_topics(bootstrap, topics)
            call = Path(tmp) / "call.wav"
            write_call(call, args.seconds)
            chunk = AudioChunk(
                event_id=event_id("bench-00000000", "audio", 0),
                session_id="bench-00000000",
                seq=0,
                event_time_ms=0,
                turn=0,
                wall_time_ns=time.time_ns(),
                producer="stream:host:1",
                samples=b"\x00" * 6400,
            )
            size = len(encode(chunk))
            records = args.seconds * 5
            stream_rates, ceiling_rates = [], []
            for _ in range(args.runs):  # interleaved, so drift on the machine hits both alike
                stream_rates.append(stream_rate(bootstrap, topics, call))
                ceiling_rates.append(ceiling_rate(bootstrap, topics.audio, records, size))
        finally:
            if pid is not None:
                process.stop(pid, MARKER)
    ratios = [s / c for s, c in zip(stream_rates, ceiling_rates, strict=True)]
    doc = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "runs": args.runs,
        "events_per_run": records + 2,
        "record_bytes": size,
        "stream_events_per_s": summary(stream_rates),
        "broker_ceiling_events_per_s": summary(ceiling_rates),
        "ratio_stream_to_ceiling": {k: round(v, 3) for k, v in summary(ratios).items()},
    }
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        for key, value in doc.items():
            print(f"{key:>30}: {value}")


if __name__ == "__main__":
    main()
