"""Client-side cost of one request: building the InferInput tensors of a TurnInput.

No server: this times `InteractionClient._inputs` alone, for a live-call mix (audio every turn,
text every 10th, a video frame every 5th), in microseconds of CPU per request.

    .venv/bin/python benchmarks/model_client.py [--requests 2000] [--runs 5]
"""

from __future__ import annotations

import argparse
import time

from benchmarks.model_common import bench_turn, fmt, summary
from inference.client import InteractionClient


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    items = [bench_turn(f"s{k % 7}", k, 80) for k in range(args.requests)]
    samples = []
    for _ in range(args.runs):
        began = time.process_time()
        for item in items:
            InteractionClient._inputs(item)
        samples.append((time.process_time() - began) * 1e6 / len(items))
    print(f"InteractionClient._inputs: {fmt(summary(samples), 'us')} per request")


if __name__ == "__main__":
    main()
