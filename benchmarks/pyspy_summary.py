"""Summarize a `py-spy record --format raw --threads` file: where a process spent its samples.

    python -m benchmarks.pyspy_summary FILE.txt [--rate 50] [--seconds 15] [--top 15]

Raw lines are `thread (tid): name;func (file:line);...;leaf (file:line) COUNT`, idle samples
excluded (py-spy's default). Prints the busy share (samples / (rate x seconds), in cores, per
thread), the top self frames (the leaf that was running), the top inclusive frames (anywhere on
the stack, each counted once per sample) and self samples per package.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")


@dataclass
class Profile:
    """Sample counts of one raw py-spy file."""

    samples: int = 0
    threads: Counter[str] = field(default_factory=Counter)
    self_frames: Counter[str] = field(default_factory=Counter)
    inclusive: Counter[str] = field(default_factory=Counter)
    packages: Counter[str] = field(default_factory=Counter)


def _short(frame: str) -> str:
    """`func (file)` without the line number and with the file cut to its last two parts."""
    match = _FRAME.match(frame.strip())
    if match is None:
        return frame.strip()
    return f"{match['func']} ({'/'.join(Path(match['file']).parts[-2:])})"


def _package(frame: str) -> str:
    match = _FRAME.match(frame.strip())
    path = match["file"] if match else ""
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1].split("/", 1)[0]
    if "/lib/python3" in path:
        return "stdlib"
    parts = Path(path).parts
    for anchor in ("streams", "processors", "inference", "schemas", "replay", "infra", "model_repository"):
        if anchor in parts:
            return anchor
    return path or "?"


def parse(text: str) -> Profile:
    """Count the samples of a raw py-spy file."""
    profile = Profile()
    for line in text.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        thread = frames[0] if frames[0].startswith("thread (") else "all threads"
        if frames[0].startswith("thread ("):
            frames = frames[1:]
        profile.samples += count
        profile.threads[thread.split(": ", 1)[-1]] += count
        if frames:
            profile.self_frames[_short(frames[-1])] += count
            profile.packages[_package(frames[-1])] += count
        for name in {_short(f) for f in frames}:
            profile.inclusive[name] += count
    return profile


def summary(path: Path, rate: float, seconds: float, top: int = 15) -> str:
    """A text summary of the raw py-spy file at `path`."""
    profile = parse(path.read_text())
    expected = rate * seconds
    n = max(profile.samples, 1)
    lines = [f"{path.name}: {profile.samples} non-idle samples = {profile.samples / expected:.2f} cores busy"]
    lines.append("  threads: " + ", ".join(f"{name} {c / expected:.2f}" for name, c in profile.threads.most_common(6)))
    packages = profile.packages.most_common(8)
    lines.append("  self by package: " + ", ".join(f"{p} {100 * c / n:.0f}%" for p, c in packages))
    lines.append("  top self frames (% of non-idle samples):")
    lines += [f"    {100 * c / n:5.1f}%  {name}" for name, c in profile.self_frames.most_common(top)]
    lines.append("  top inclusive frames:")
    lines += [f"    {100 * c / n:5.1f}%  {name}" for name, c in profile.inclusive.most_common(top)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--rate", type=float, default=50.0, help="py-spy --rate used (default 50)")
    parser.add_argument("--seconds", type=float, default=15.0, help="py-spy --duration used (default 15)")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    for path in args.files:
        print(summary(path, args.rate, args.seconds, args.top))


if __name__ == "__main__":
    main()
