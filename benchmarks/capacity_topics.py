"""What a capacity level wrote to each topic: record batches, records and bytes, read from the broker's
own log segments.

The broker's CPU follows the requests and records it handles, so per topic (every topic on the
broker: the stack's prefix, the consumer offsets and any other) a level's figures are taken from the
segment files in its `log.dirs` between two snapshots of the segments' ends: a record batch is what
one produce request appended to one partition (a consumer group's offset commit is a batch on
`__consumer_offsets`), so batches per turn count the produce side's requests, records per turn
and bytes (as stored: batch headers, keys, values and headers) its volume. Stdlib only, so the same
module measures any commit's stack from outside its tree.
"""

from __future__ import annotations

import os
import struct
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

BATCH_HEADER = struct.Struct(">qiiBIhiqqqhii")
"""Record batch v2: base offset, length, leader epoch, magic, crc, attributes, last offset delta,
first/max timestamp, producer id and epoch, base sequence, record count (61 bytes)."""


@dataclass
class TopicTraffic:
    """What one topic's partitions appended between two snapshots."""

    batches: int = 0
    records: int = 0
    bytes: int = 0


def _segments(partition_dir: Path) -> list[Path]:
    return sorted(partition_dir.glob("*.log"), key=lambda p: int(p.stem))


def _topic(partition_dir: Path) -> str:
    return partition_dir.name.rsplit("-", 1)[0]


def segment_ends(data_dir: Path) -> dict[Path, tuple[int, int]]:
    """Per partition directory: (base offset of its last segment, that segment's size)."""
    ends: dict[Path, tuple[int, int]] = {}
    for partition_dir in data_dir.iterdir():
        if not partition_dir.is_dir() or "-" not in partition_dir.name:
            continue
        segments = _segments(partition_dir)
        if segments:
            ends[partition_dir] = (int(segments[-1].stem), segments[-1].stat().st_size)
    return ends


def _batches(segment: Path, start: int, stop: int | None) -> list[tuple[int, int]]:
    """(record count, stored bytes) of each whole batch of `segment` in [start, stop) bytes."""
    found = []
    with segment.open("rb") as f:
        position = start
        while stop is None or position < stop:
            f.seek(position)
            header = f.read(BATCH_HEADER.size)
            if len(header) < BATCH_HEADER.size:
                break
            fields = BATCH_HEADER.unpack(header)
            length, count = fields[1], fields[-1]
            size = 12 + length
            if stop is not None and position + size > stop:
                break
            found.append((count, size))
            position += size
    return found


def traffic(before: dict[Path, tuple[int, int]], after: dict[Path, tuple[int, int]]) -> dict[str, TopicTraffic]:
    """Per topic, what was appended from `before` to `after` (both `segment_ends` of one data dir)."""
    out: dict[str, TopicTraffic] = defaultdict(TopicTraffic)
    for partition_dir, (last_base, last_size) in after.items():
        first_base, first_size = before.get(partition_dir, (-1, 0))
        for segment in _segments(partition_dir):
            base = int(segment.stem)
            if base < first_base or base > last_base:
                continue
            start = first_size if base == first_base else 0
            stop = last_size if base == last_base else None
            for count, size in _batches(segment, start, stop):
                t = out[_topic(partition_dir)]
                t.batches, t.records, t.bytes = t.batches + 1, t.records + count, t.bytes + size
    return dict(out)


def per_turn(found: dict[str, TopicTraffic], turns: int, prefix: str = "") -> dict[str, dict[str, float]]:
    """`found` per turn (`turns` > 0), topic names without `prefix`; busiest topics first."""
    rows = {
        name.removeprefix(prefix): {
            "batches": round(t.batches / turns, 3),
            "records": round(t.records / turns, 3),
            "bytes": round(t.bytes / turns, 1),
        }
        for name, t in found.items()
    }
    return dict(sorted(rows.items(), key=lambda kv: -kv[1]["bytes"]))


def print_per_turn(rows: dict[str, dict[str, float]], turns: int) -> None:
    """The table `per_turn` returned, with totals."""
    print(f"  per topic, per turn published ({turns} turns): batches, records, bytes as stored")
    for name, r in rows.items():
        print(f"    {name:<32} {r['batches']:>8.3f} {r['records']:>8.3f} {r['bytes']:>10.1f}")
    total = {k: sum(r[k] for r in rows.values()) for k in ("batches", "records", "bytes")}
    print(f"    {'total':<32} {total['batches']:>8.3f} {total['records']:>8.3f} {total['bytes']:>10.1f}")


def io_counts(pids: dict[str, int]) -> dict[str, tuple[int, int]]:
    """Per process: (read, write) system calls so far, from /proc/<pid>/io (all its threads): the
    broker's are mostly socket reads of requests and writes of responses. (0, 0) when unreadable."""
    out = {}
    for name, pid in pids.items():
        try:
            fields = dict(line.split(": ") for line in Path(f"/proc/{pid}/io").read_text().splitlines())
            out[name] = (int(fields["syscr"]), int(fields["syscw"]))
        except (OSError, ValueError, KeyError):
            out[name] = (0, 0)
    return out


def io_per_turn(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]], turns: int) -> dict[str, str]:
    """Read/write system calls per turn of each process between two `io_counts`."""
    return {
        name: f"{(after[name][0] - r) / turns:.1f}/{(after[name][1] - w) / turns:.1f}"
        for name, (r, w) in before.items()
        if name in after
    }


JVM_THREADS = (("jit", ("C1 Compiler", "C2 Compiler")), ("gc", ("G1 ", "GC Thread", "VM Thread")))
"""JVM thread name prefixes (/proc/<pid>/task/<tid>/comm) by kind: the compilers and the collector."""


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds of the live threads of `pid` by kind (`JVM_THREADS`; "other": the rest)."""
    out = {"jit": 0.0, "gc": 0.0, "other": 0.0}
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            name = (task / "comm").read_text()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            seconds = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            continue
        kind = next((k for k, prefixes in JVM_THREADS if name.startswith(prefixes)), "other")
        out[kind] += seconds
    return out


class LevelTraffic:
    """Snapshots taken when a level starts; `figures` after its records were read."""

    def __init__(self, data_dir: Path | None, pids: dict[str, int]) -> None:
        """`data_dir`: the broker's log.dirs (None: an external broker, no topic figures)."""
        self._data_dir, self._pids = data_dir, pids
        self._segments = segment_ends(data_dir) if data_dir else {}
        self._io = io_counts(pids)
        self._broker = pids.get("kafka")
        self._threads = thread_cpu(self._broker) if self._broker else {}

    def figures(self, turns: int, prefix: str) -> dict[str, object]:
        """Per topic per turn (`per_turn`, names without `prefix`), system calls per turn per process and
        the broker's CPU per turn by JVM thread kind."""
        written = traffic(self._segments, segment_ends(self._data_dir)) if self._data_dir else {}
        io = io_counts(self._pids)
        threads = thread_cpu(self._broker) if self._broker else {}
        return {
            "broker_cpu_ms_per_turn": {
                k: round((threads[k] - v) * 1000 / max(turns, 1), 2) for k, v in self._threads.items()
            },
            "topics_per_turn": per_turn(written, max(turns, 1), prefix) if written else {},
            "syscalls_per_turn": io_per_turn(self._io, io, max(turns, 1)),
        }


def print_figures(doc: dict[str, object], turns: int) -> None:
    """The `LevelTraffic.figures` in `doc`."""
    print(f"  read/write system calls per turn, level start to its records read: {doc['syscalls_per_turn']}")
    print(f"  broker CPU ms per turn by JVM thread kind, same span: {doc['broker_cpu_ms_per_turn']}")
    rows = doc["topics_per_turn"]
    if isinstance(rows, dict) and rows:
        print_per_turn(rows, turns)
