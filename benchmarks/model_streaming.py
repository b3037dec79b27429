"""Streaming (per-session KV cache) vs. recompute (whole retained history, no cache), per turn.

For each target turn T, one session is streamed through turns 0..T-1; then turn T is timed N times
both ways from that same state: `step` (a prefill of turn T's tokens plus a short decode against
the cache) and `recompute` (the transformer over every retained token of turns 0..T, and again for
each decode token). Prints median and spread of each and the recompute/streaming ratio.

    .venv/bin/python benchmarks/model_streaming.py --config tiny --turns 50 500 --runs 20
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from typing import Any

import torch

from benchmarks.model_common import bench_turn, fmt, summary
from inference.network import CONFIGS, InteractionNetwork


def measure(net: InteractionNetwork, turn: int, runs: int) -> dict[str, Any]:
    history = [bench_turn("stream", k, net.config.video_size) for k in range(turn + 1)]
    state = net.new_state()
    for item in history[:-1]:
        net.step([item], [state])
    streamed, recomputed = [], []
    for _ in range(runs):
        scratch = copy.deepcopy(state)
        start = time.perf_counter()
        [stream_out] = net.step([history[-1]], [scratch])
        streamed.append((time.perf_counter() - start) * 1e3)
        start = time.perf_counter()
        again = net.recompute(history)
        recomputed.append((time.perf_counter() - start) * 1e3)
    stream, full = summary(streamed), summary(recomputed)
    return {
        "turn": turn,
        "context_tokens": scratch.cache.length,
        "evicted_tokens": scratch.cache.evicted,
        "action_streaming": stream_out.action.name,
        "action_recompute": again.action.name,
        "streaming_ms": stream,
        "recompute_ms": full,
        "ratio": full["median"] / stream["median"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", choices=sorted(CONFIGS), default="tiny")
    parser.add_argument("--turns", type=int, nargs="+", default=[50, 500], help="target turn indices")
    parser.add_argument("--runs", type=int, default=20, help="timed repetitions per path and turn")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--seed", type=int, default=0, help="seeded (untrained) weights")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    net = InteractionNetwork.seeded(CONFIGS[args.config], args.seed)
    results = [measure(net, turn, args.runs) for turn in args.turns]
    if args.json:
        print(json.dumps({"config": args.config, "threads": args.threads, "results": results}, indent=2))
        return
    print(f"{net.version}: streaming step vs recompute, {args.runs} runs, {args.threads} thread(s)")
    for r in results:
        print(
            f"turn {r['turn']}: {r['context_tokens']} tokens in context, {r['evicted_tokens']} evicted; "
            f"action {r['action_streaming']} (streaming) / {r['action_recompute']} (recompute)"
        )
        print(f"  streaming  {fmt(r['streaming_ms'])}")
        print(f"  recompute  {fmt(r['recompute_ms'])}")
        print(f"  ratio recompute/streaming (medians): {r['ratio']:.1f}x")


if __name__ == "__main__":
    main()
