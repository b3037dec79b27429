"""Peak memory and throughput of media ingest on a long file.

Writes a long 44.1 kHz stereo 16-bit WAV (one hour by default) into a temporary directory, block
by block so the generator itself stays small, then iterates every piece of it with
`streams.media.open_media(...).pieces()` and reports the peak resident set size of the process
(`resource.getrusage(...).ru_maxrss`) and the throughput. The goal is a peak under 300 MB: the
media layer must stream, never hold the file.

    python benchmarks/ingest_memory.py [--minutes 60] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere in the checkout

from streams.media import AudioPiece, open_media

RATE = 44_100
BLOCK_SECONDS = 10
GOAL_MB = 300


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_wav(path: Path, seconds: int) -> None:
    """A 440 Hz tone with a little noise, stereo s16, written BLOCK_SECONDS at a time."""
    rng = np.random.default_rng(0)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(RATE)
        for start in range(0, seconds * RATE, BLOCK_SECONDS * RATE):
            count = min(BLOCK_SECONDS * RATE, seconds * RATE - start)
            t = np.arange(start, start + count) / RATE
            mono = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.01 * rng.standard_normal(count)
            block = (np.repeat(mono[:, None], 2, axis=1) * 32767).astype("<i2")
            out.writeframes(block.tobytes())


def run(minutes: float) -> dict[str, float | int | bool]:
    """Generate, ingest and measure; returns the report."""
    seconds = round(minutes * 60)
    with tempfile.TemporaryDirectory(prefix="microturn-ingest-bench-") as folder:
        path = Path(folder) / "long.wav"
        started = time.perf_counter()
        write_wav(path, seconds)
        generate_s = time.perf_counter() - started
        rss_before = peak_rss_mb()
        chunks = 0
        started = time.perf_counter()
        for piece in open_media(path).pieces():
            chunks += isinstance(piece, AudioPiece)
        ingest_s = time.perf_counter() - started
        size_mb = os.path.getsize(path) / 1e6
    peak = peak_rss_mb()
    return {
        "audio_seconds": seconds,
        "file_mb": round(size_mb, 1),
        "generate_s": round(generate_s, 2),
        "chunks": chunks,
        "ingest_s": round(ingest_s, 2),
        "chunks_per_s": round(chunks / ingest_s),
        "realtime_factor": round(seconds / ingest_s, 1),
        "peak_rss_mb_before_ingest": round(rss_before, 1),
        "peak_rss_mb": round(peak, 1),
        "goal_mb": GOAL_MB,
        "ok": peak < GOAL_MB and chunks == -(-seconds * 16_000 // 3200),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="length of the test file")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    report = run(args.minutes)
    if args.json:
        print(json.dumps(report))
    else:
        for key, value in report.items():
            print(f"{key:>26}: {value}")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
