"""Recovery time against partition size: from the whole log, and from a checkpoint.

    .venv/bin/python benchmarks/recovery.py [--kafka HOST:PORT] [--sizes 10,40,160] [--seconds 5]

What a worker does when it gets a partition (`processors.recovery`): rebuild the assembly state of
every session of the partition and the highest answered turn per session. One partition grows to
each size in turn (finished sessions with the real event mix: per 200 ms turn an AudioChunk, a
MicroTurn and a ModelOutput with 6400 bytes of PCM each, a text event every 2 s). At each size a
checkpoint is taken as a worker takes it (`processors.checkpoint`), then a fixed tail of two more
sessions is published after it, and recovery is timed both ways:

- from the log: every record of the partition, as without a checkpoint;
- from the checkpoint: the checkpoint's state plus the records after it.

The second should stay flat while the first grows with the partition. Starts its own broker unless
--kafka is given. The machine may be shared: the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from pathlib import Path

from benchmarks.archive_throughput import CACHE_DIR, stream_session
from infra import process
from infra.kafka import MARKER, KafkaBroker
from infra.topics import ensure_topics
from processors.assembler import TurnAssembler
from processors.checkpoint import Checkpoint, decode_checkpoint, encode_checkpoint, end_offsets
from processors.recovery import answered_in_partition, load_partition
from schemas import Topics
from streams.log import read_topics, session_partition
from streams.producer import EventProducer

PARTITION = 0


def names_on(partition: int, partitions: int, prefix: str) -> list[str]:
    """Session ids of `partition`, as many as the benchmark can use."""
    return [s for s in (f"{prefix}-{i:05d}" for i in range(20_000)) if session_partition(s, partitions) == partition]


async def publish(bootstrap: str, topics: Topics, sessions: list[str], turns: int) -> None:
    async with EventProducer(bootstrap, topics) as producer:
        await asyncio.gather(*(stream_session(producer, s, turns) for s in sessions))


async def recover(bootstrap: str, topics: Topics, checkpoint: Checkpoint | None) -> tuple[float, int]:
    """Seconds to rebuild the partition, and how many sessions it rebuilt."""
    start = time.perf_counter()
    loaded = await load_partition(bootstrap, topics, PARTITION, TurnAssembler(), checkpoint)
    await answered_in_partition(bootstrap, topics, PARTITION, checkpoint)
    return time.perf_counter() - start, len(loaded.states)


async def take_checkpoint(bootstrap: str, topics: Topics) -> Checkpoint:
    """The partition's checkpoint as a worker that holds all of it takes it."""
    ends = await end_offsets(bootstrap, [topics.turns, topics.output], [PARTITION])
    loaded = await load_partition(bootstrap, topics, PARTITION, TurnAssembler())
    answered = await answered_in_partition(bootstrap, topics, PARTITION)
    taken = Checkpoint(
        PARTITION,
        list(loaded.states.values()),
        answered,
        loaded.next_input,
        ends[(topics.turns, PARTITION)],
        ends[(topics.output, PARTITION)],
    )
    return decode_checkpoint(encode_checkpoint(taken))  # as read back from the checkpoints topic


async def partition_records(bootstrap: str, topics: Topics) -> int:
    names = [topics.turns, topics.output, topics.session, topics.audio, topics.text]
    return len(await read_topics(bootstrap, names, topics.partitions, only_partition=PARTITION))


async def run(bootstrap: str, sizes: list[int], turns: int) -> None:
    topics = Topics(f"bench-recovery-{uuid.uuid4().hex[:8]}")
    await asyncio.to_thread(ensure_topics, bootstrap, topics)  # it runs its own event loop
    ids = iter(names_on(PARTITION, topics.partitions, "rec"))
    published = 0
    print(f"{turns} turns per session; one partition of {topics.partitions}")
    for size in sizes:
        await publish(bootstrap, topics, [next(ids) for _ in range(size - published)], turns)
        published = size
        checkpoint = await take_checkpoint(bootstrap, topics)
        await publish(bootstrap, topics, [next(ids) for _ in range(2)], turns)  # the tail after the checkpoint
        published += 2
        records = await partition_records(bootstrap, topics)
        full_s, full_n = await recover(bootstrap, topics, None)
        cp_s, cp_n = await recover(bootstrap, topics, checkpoint)
        assert full_n == cp_n, (full_n, cp_n)
        print(
            f"{published:5d} sessions, {records:7d} records in the partition: from the log {full_s:6.2f} s, "
            f"from a checkpoint ({len(checkpoint.sessions)} sessions in it) {cp_s:6.2f} s  "
            f"[load average {os.getloadavg()[0]:.2f}]",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kafka", help="use this broker instead of starting one")
    parser.add_argument("--sizes", default="10,40,160", help="sessions in the partition, ascending")
    parser.add_argument("--seconds", type=float, default=5.0, help="session length (turns = seconds * 5)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="recovery-bench-") as tmp:
        pid = None
        bootstrap = args.kafka
        if bootstrap is None:
            broker = KafkaBroker(Path(tmp) / "kafka", process.free_port(), process.free_port())
            pid = broker.start(CACHE_DIR)
            bootstrap = broker.bootstrap
        try:
            asyncio.run(run(bootstrap, sizes, int(args.seconds * 5)))
        finally:
            if pid is not None:
                process.stop(pid, MARKER)


if __name__ == "__main__":
    main()
