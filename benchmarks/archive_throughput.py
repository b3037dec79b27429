"""Archive write throughput: events per second a real archiver process archives, durably and sealed.

    .venv/bin/python benchmarks/archive_throughput.py [--kafka HOST:PORT] [--runs 3] [--sessions 16] [--seconds 60]

Each run gets fresh topics and a fresh archive. Sessions carry the real event mix of a live call:
per 200 ms turn an AudioChunk, a MicroTurn and a ModelOutput (each with 6400 bytes of PCM), a text
event every 2 s, SessionStarted and SessionEnded. Two figures per run:

- live: the sessions are published (as fast as the broker takes them, all at once) while the
  archiver runs; events / seconds from the first publish until `archive sync` returns, i.e.
  until the last event is in a durable Parquet file, its chain head published, its offset committed.
  The publisher shares the machine, so this is bounded by how fast events arrive; how long after the
  last publish the archive caught up shows whether the archiver kept pace (one epoch is up to 1 s);
- backlog: the same sessions published while no archiver runs; events / seconds from the moment
  a freshly started archiver consumes until `archive sync` returns.

Starts its own Kafka broker (in a temp dir, stopped at the end) unless --kafka is given.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from infra import process
from infra.kafka import MARKER, KafkaBroker
from infra.testing import ArchiverProcess
from infra.topics import ensure_topics
from processors.archiver.sync import wait_synced
from schemas import (
    AudioChunk,
    MicroTurn,
    ModelOutput,
    SessionEnded,
    SessionStarted,
    TextEvent,
    Topics,
    event_id,
)
from streams.producer import EventProducer

CACHE_DIR = Path.home() / ".cache" / "microturn"
PCM = (0.2 * 32767 * np.sin(np.arange(3200) / 7)).astype("<i2").tobytes()


def _env(session: str, stream: str, seq: int, turn: int | None) -> dict[str, Any]:
    return {
        "event_id": event_id(session, stream, seq),
        "session_id": session,
        "seq": seq,
        "event_time_ms": seq * 200 if turn is not None else 0,
        "turn": turn,
        "wall_time_ns": time.time_ns(),
        "producer": "bench",
    }


async def stream_session(producer: EventProducer, session: str, turns: int) -> int:
    """Publish one synthetic session's events; how many."""
    t = producer.topics
    await producer.send(t.session, SessionStarted(**_env(session, "session", 0, None)))
    sent = 1
    for k in range(turns):
        if k % 10 == 0:
            await producer.send(t.text, TextEvent(**_env(session, "text", k // 10, k), text="a line"))
            sent += 1
        await producer.send(t.audio, AudioChunk(**_env(session, "audio", k, k), samples=PCM))
        await producer.send(
            t.turns,
            MicroTurn(
                **_env(session, "turn", k, k),
                audio=PCM,
                event_ids=(event_id(session, "audio", k),),
            ),
        )
        await producer.send(t.output, ModelOutput(**_env(session, "output", k, k), action="SPEAK", audio=PCM))
        sent += 3
        if k % 25 == 0:
            await asyncio.sleep(0)
    await producer.send(t.session, SessionEnded(**_env(session, "session", 1, None), turns=turns))
    return sent + 1


async def publish(bootstrap: str, topics: Topics, sessions: int, turns: int) -> int:
    async with EventProducer(bootstrap, topics) as producer:
        counts = await asyncio.gather(*(stream_session(producer, f"bench-{i:03d}", turns) for i in range(sessions)))
    return sum(counts)


def one_run(bootstrap: str, work: Path, sessions: int, turns: int, live: bool) -> tuple[int, float, float]:
    """(events, seconds until archived, seconds of that spent after the last event was published)."""
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    topics = Topics(prefix)
    ensure_topics(bootstrap, topics)
    archiver = ArchiverProcess(
        bootstrap,
        prefix,
        work / prefix / "archive",
        work / "audit.key",
        log_path=work / prefix / "archiver.log",
        roll_age_s=1.0,
    )
    try:
        if live:
            archiver.start()
            started = time.monotonic()
            events = asyncio.run(publish(bootstrap, topics, sessions, turns))
        else:
            events = asyncio.run(publish(bootstrap, topics, sessions, turns))
            archiver.start()
            started = time.monotonic()
        published = time.monotonic()
        asyncio.run(wait_synced(bootstrap, topics, timeout_s=600, poll_s=0.05))
        done = time.monotonic()
        return events, done - started, done - published
    finally:
        archiver.stop()


def summary(name: str, rates: list[float]) -> str:
    return (
        f"{name:8s} median {statistics.median(rates):9.0f} events/s   min {min(rates):9.0f}   max {max(rates):9.0f}"
        f"   ({len(rates)} runs)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kafka", help="use this broker instead of starting one")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sessions", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60.0, help="session length (turns = seconds * 5)")
    args = parser.parse_args()
    turns = int(args.seconds * 5)
    with tempfile.TemporaryDirectory(prefix="archive-bench-") as tmp:
        work = Path(tmp)
        pid = None
        bootstrap = args.kafka
        if bootstrap is None:
            broker = KafkaBroker(work / "kafka", process.free_port(), process.free_port())
            pid = broker.start(CACHE_DIR)
            bootstrap = broker.bootstrap
        try:
            results: dict[str, list[float]] = {"live": [], "backlog": []}
            for run in range(args.runs):
                for mode, rates in results.items():
                    events, seconds, tail = one_run(bootstrap, work, args.sessions, turns, live=mode == "live")
                    rates.append(events / seconds)
                    behind = f", archived {tail:4.2f} s after the last publish" if mode == "live" else ""
                    print(
                        f"run {run + 1} {mode:8s} {events} events in {seconds:6.2f} s = {events / seconds:8.0f} "
                        f"events/s ({events * 6.4 / 1024 / seconds:5.1f} MiB/s of PCM){behind}",
                        flush=True,
                    )
            print(f"\n{args.sessions} sessions x {turns} turns, 3 events per turn with 6400 B of PCM each")
            for mode, rates in results.items():
                print(summary(mode, rates))
        finally:
            if pid is not None:
                process.stop(pid, MARKER)


if __name__ == "__main__":
    main()
