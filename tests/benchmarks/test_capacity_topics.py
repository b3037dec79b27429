"""The capacity benchmark's per-topic traffic: record batches read from log segments between two snapshots."""

from __future__ import annotations

import os
from pathlib import Path

from benchmarks.capacity_topics import BATCH_HEADER, io_counts, io_per_turn, per_turn, segment_ends, thread_cpu, traffic


def _batch(base_offset: int, records: int, payload: int) -> bytes:
    """A record batch v2 as the broker stores it: the 61-byte header, then `payload` bytes of records."""
    length = BATCH_HEADER.size - 12 + payload  # the length field counts from the leader epoch on
    header = BATCH_HEADER.pack(base_offset, length, 0, 2, 0, 0, records - 1, 0, 0, -1, -1, -1, records)
    return header + b"\x00" * payload


def _append(segment: Path, *batches: bytes) -> None:
    with segment.open("ab") as f:
        for batch in batches:
            f.write(batch)


def test_traffic_counts_batches_appended_between_snapshots_across_a_segment_roll(tmp_path: Path) -> None:
    audio, offsets = tmp_path / "cap.input.audio-0", tmp_path / "__consumer_offsets-3"
    audio.mkdir()
    offsets.mkdir()
    (tmp_path / "meta.properties").write_text("")  # a file beside the partition dirs is not a partition
    _append(audio / "00000000000000000000.log", _batch(0, 1, 100))  # before the level: not counted
    _append(offsets / "00000000000000000000.log")
    before = segment_ends(tmp_path)
    _append(audio / "00000000000000000000.log", _batch(1, 1, 100), _batch(2, 3, 300))
    _append(audio / "00000000000000000005.log", _batch(5, 2, 50))  # the broker rolled a new segment
    _append(offsets / "00000000000000000000.log", _batch(0, 4, 40))
    after = segment_ends(tmp_path)
    _append(audio / "00000000000000000005.log", _batch(7, 1, 10))  # after the level: not counted
    _append(offsets / "00000000000000000000.log", _batch(4, 1, 10)[:30])  # a batch half written: not counted

    found = traffic(before, after)

    assert (found["cap.input.audio"].batches, found["cap.input.audio"].records) == (3, 6)
    assert found["cap.input.audio"].bytes == 3 * BATCH_HEADER.size + 450
    assert (found["__consumer_offsets"].batches, found["__consumer_offsets"].records) == (1, 4)
    rows = per_turn(found, 2, "cap.")
    assert list(rows) == ["input.audio", "__consumer_offsets"]  # busiest first, prefix dropped
    assert rows["input.audio"] == {"batches": 1.5, "records": 3.0, "bytes": (3 * BATCH_HEADER.size + 450) / 2}


def test_io_counts_read_this_process_and_count_per_turn(tmp_path: Path) -> None:
    before = io_counts({"me": os.getpid(), "gone": 2**22 + 1})
    (tmp_path / "x").write_bytes(b"x")
    for _ in range(10):
        (tmp_path / "x").read_bytes()
    after = io_counts({"me": os.getpid(), "gone": 2**22 + 1})
    assert after["gone"] == (0, 0)
    assert after["me"][0] - before["me"][0] >= 10
    reads, _ = io_per_turn(before, after, 10)["me"].split("/")
    assert float(reads) >= 1.0


def test_thread_cpu_counts_this_process_threads_as_other() -> None:
    spent = thread_cpu(os.getpid())
    assert spent["jit"] == spent["gc"] == 0.0  # no JVM here
    assert spent["other"] > 0.0
    assert thread_cpu(2**22 + 1) == {"jit": 0.0, "gc": 0.0, "other": 0.0}
