"""Shared pieces of the model benchmarks: reproducible turns and robust timing summaries."""

from __future__ import annotations

import statistics

import numpy as np

from inference.network import TurnInput

LOUDNESS = (0, 300, 3000, 20000, 1000, 0)
"""Noise amplitudes cycled through by `bench_turn`: pauses and speech of varied loudness."""


def bench_turn(session: str, turn: int, video_size: int) -> TurnInput:
    """A turn like a live call with a camera: audio every turn, a video frame every 5th turn, a
    text message every 10th, a background result every 25th. Depends only on (session, turn)."""
    rng = np.random.default_rng([turn, sum(session.encode())])
    amplitude = LOUDNESS[(turn + sum(session.encode())) % len(LOUDNESS)]
    audio = (rng.standard_normal(3200) * amplitude).clip(-32768, 32767).astype(np.int16)
    video = rng.integers(0, 256, (video_size, video_size, 3), dtype=np.uint8) if turn % 5 == 0 else None
    text = f"message {turn} from {session}".encode() if turn % 10 == 0 else b""
    background = b"search finished: 3 results" if turn % 25 == 0 else b""
    return TurnInput(session, turn, audio, video, text, background)


def summary(samples: list[float]) -> dict[str, float]:
    """Median and spread (quartiles, extremes) of timing samples, in the samples' unit."""
    ordered = sorted(samples)
    quartiles = statistics.quantiles(ordered, n=4) if len(ordered) > 1 else [ordered[0]] * 3
    return {
        "median": statistics.median(ordered),
        "p25": quartiles[0],
        "p75": quartiles[2],
        "min": ordered[0],
        "max": ordered[-1],
        "runs": len(ordered),
    }


def fmt(stats: dict[str, float], unit: str = "ms") -> str:
    return (
        f"median {stats['median']:8.3f} {unit}  IQR [{stats['p25']:.3f}, {stats['p75']:.3f}]"
        f"  range [{stats['min']:.3f}, {stats['max']:.3f}]"
    )
