"""Recovery after a worker SIGKILL mid-call: how many turns were delayed, and the longest delay.

    .venv/bin/python benchmarks/failover.py [--workers 2] [--sessions 4] [--seconds 20] [--kill-after 6]

Starts the stack `microturn up` runs (Kafka, Triton, --workers workers; no archiver) in a temporary
state dir and streams --sessions real-time sessions. --kill-after seconds in, worker-0 is
SIGKILLed. With one worker, `up` restarts it at once (what an operator does); with more, nothing
is restarted: the group moves its partitions to the others after its session timeout (10 s).
Per turn, from the broker's record timestamps: AudioChunk k queued -> ModelOutput k queued. Prints
that delay's median, the turns over 200 ms (one turn) and over 1 s, the longest, and whether every
turn got its output. The machine may be shared: the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import tempfile
import time
import uuid
from pathlib import Path

from benchmarks.capacity_broker import end_offsets, read_level
from benchmarks.live_common import CACHE, percentile
from infra.stack import Stack, StackSettings
from schemas import Topics
from streams.media.testing import write_wav
from streams.publish import publish_file


async def run(args: argparse.Namespace, tmp: Path) -> None:
    prefix = f"failover-{uuid.uuid4().hex[:6]}"
    stack = Stack(
        StackSettings.from_env(
            state_dir=tmp / "stack", cache_dir=CACHE, topic_prefix=prefix, workers=args.workers, archivers=0
        )
    )
    try:
        status = await asyncio.to_thread(stack.up, lambda _: None)
        bootstrap, topics = status["kafka"]["bootstrap"], Topics(prefix)
        since = await end_offsets(bootstrap, topics)
        sessions = [f"fo-{i}" for i in range(args.sessions)]
        files = [write_wav(tmp / f"{s}.wav", args.seconds, 200.0 + 40 * i) for i, s in enumerate(sessions)]
        streaming = [
            asyncio.create_task(publish_file(bootstrap, topics, f, s, realtime=True))
            for s, f in zip(sessions, files, strict=True)
        ]
        await asyncio.sleep(args.kill_after)
        os.kill(status["workers"][0]["pid"], signal.SIGKILL)
        killed = time.monotonic()
        if args.workers == 1:
            await asyncio.to_thread(stack.up, lambda _: None)
        await asyncio.gather(*streaming)
        deadline = time.monotonic() + 300
        while True:
            found = await read_level(bootstrap, topics, since, set(sessions))
            if found.finals() == set(sessions) or time.monotonic() > deadline:
                break
            await asyncio.sleep(2)
        delays = [t.output_ms - t.chunk_ms for t in found.turns.values() if t.output_ms and t.chunk_ms]
        missing = sum(1 for t in found.turns.values() if t.chunk_ms is not None and t.output_ms is None)
        print(
            f"{args.workers} worker(s), {args.sessions} sessions x {args.seconds:g} s, worker-0 SIGKILLed "
            f"{args.kill_after:g} s in{' and restarted by up' if args.workers == 1 else ''}: "
            f"{len(delays)} turns answered, {missing} unanswered; AudioChunk->ModelOutput median "
            f"{percentile([float(d) for d in delays], 0.5):.0f} ms, {sum(d > 200 for d in delays)} turns over 200 ms, "
            f"{sum(d > 1000 for d in delays)} over 1 s, longest {max(delays) / 1000:.1f} s "
            f"(done {time.monotonic() - killed:.0f} s after the kill) [load average {os.getloadavg()[0]:.2f}]",
            flush=True,
        )
    finally:
        await asyncio.to_thread(stack.down, lambda _: None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sessions", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each real-time session")
    parser.add_argument("--kill-after", type=float, default=6.0, help="seconds into the calls")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="failover-bench-") as tmp:
        asyncio.run(run(args, Path(tmp)))


if __name__ == "__main__":
    main()
