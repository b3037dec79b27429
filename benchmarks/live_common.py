"""Shared by the live-call benchmarks (mouth_to_ear.py, capacity.py): the caller's audio, the
Twilio server under test, CPU time from /proc, and nearest-rank percentiles."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from streams.ingress import g711

CACHE = Path(os.environ.get("MICROTURN_CACHE_DIR", Path.home() / ".cache" / "microturn"))
TAIL_S = 1.0
"""Silence each caller sends after its audio, before `stop`."""
LINGER_S = 5.0
"""How long a caller keeps listening after `stop` for the server to end the call."""


def caller(seconds: float, freq: float) -> bytes:
    """Mu-law 8 kHz audio of a caller who talks (a tone at `freq`) 0.6 s of every 1.2 s."""
    t = np.arange(int(seconds * 8000)) / 8000
    pcm = (0.4 * 32767 * np.sin(2 * np.pi * freq * t) * ((t % 1.2) < 0.6)).astype(np.int16)
    return g711.encode(pcm)


def _stat(pid: int) -> list[str]:
    raw = Path(f"/proc/{pid}/stat").read_text()
    return raw[raw.rindex(")") + 2 :].split()  # fields after the command name, from field 3 (state)


def children(parent: int) -> list[int]:
    """Live direct children of `parent`, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int(_stat(int(entry.name))[1]) == parent:
                    found.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    return found


def _tree(root: int) -> set[int]:
    """`root` and its live descendants."""
    tree, frontier = {root}, [root]
    while frontier:
        found = [pid for pid in children(frontier.pop()) if pid not in tree]
        tree.update(found)
        frontier.extend(found)
    return tree


def cpu_seconds(root: int, descendants: bool = True) -> float:
    """CPU time (user + system) of process `root` and (by default) its live descendants, from /proc.

    A process that is gone counts 0, so take before/after readings of processes that outlive them.
    """
    ticks = 0
    for pid in _tree(root) if descendants else {root}:
        try:
            fields = _stat(pid)
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, ValueError, IndexError):
            continue
    return ticks / os.sysconf("SC_CLK_TCK")


def run_queue_wait_seconds(root: int, descendants: bool = True) -> float:
    """Time the threads of `root` (and its live descendants) were runnable but waited for a CPU.

    From /proc/<pid>/task/<tid>/schedstat (run delay, field 2): the share of the machine a
    process did not get while it had work, i.e. the cost of sharing the cores with others.
    """
    total = 0
    for pid in _tree(root) if descendants else {root}:
        try:
            tasks = list(Path(f"/proc/{pid}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                total += int((task / "schedstat").read_text().split()[1])
            except (OSError, ValueError, IndexError):
                continue
    return total / 1e9


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile `q` (0..1) of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def stats(values: list[float]) -> dict[str, float | int]:
    """n, p50, p99 and max of `values`, rounded to 0.1; just n=0 when empty."""
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50": round(percentile(values, 0.5), 1),
        "p99": round(percentile(values, 0.99), 1),
        "max": round(max(values), 1),
    }


def start_server(
    bootstrap: str, prefix: str, state_dir: Path, token: str, max_calls: int = 200
) -> tuple[subprocess.Popen[str], str]:
    """`microturn serve twilio` as its own process; the process and the URL callers dial."""
    microturn = Path(sys.executable).parent / "microturn"
    server = subprocess.Popen(
        [
            str(microturn),
            "serve",
            "twilio",
            "--kafka",
            bootstrap,
            "--topic-prefix",
            prefix,
            "--state-dir",
            str(state_dir),
            "--max-calls",
            str(max_calls),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "TWILIO_AUTH_TOKEN": token},
    )
    assert server.stdout is not None
    banner = server.stdout.readline()
    if "listening on " not in banner:
        server.kill()
        raise RuntimeError(f"microturn serve twilio did not start: {banner!r}")
    return server, banner.split("listening on ")[1].split()[0] + "bench"
