"""CPU per session-turn of the model step, old (`step_per_session`) vs new (`step`, batched), next to
the model's FLOPs per turn.

Sessions warm up for some turns, then a window of consecutive turns (a live-call mix: audio every
turn, video every 5th, text every 10th) runs on copies of their states, both ways, a few times.
Prints per batch size the median and spread of CPU ms per session-turn, the old/new ratio, and the
matrix-product FLOPs per session-turn (torch's FlopCounterMode): what the old step computes (exact
shapes) and what the batched step executes (padded rows and cache capacity included).

    .venv/bin/python benchmarks/model_batched.py [--batch 1 8 32 64] [--warm 20] [--window 10] [--runs 3]
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from benchmarks.model_common import bench_turn, fmt, summary
from inference.network import CONFIGS, InteractionNetwork, SessionState, TurnInput, TurnOutput, load_checkpoint

Step = Callable[[Sequence[TurnInput], Sequence[SessionState]], list[TurnOutput]]


def window_cpu(step: Step, turns: list[list[TurnInput]], states: list[SessionState]) -> float:
    """CPU ms per session-turn of `turns` (one batch per turn) on a copy of `states`."""
    scratch = copy.deepcopy(states)
    began = time.process_time()
    for inputs in turns:
        step(inputs, scratch)
    return (time.process_time() - began) * 1e3 / (len(turns) * len(states))


def window_flops(step: Step, turns: list[list[TurnInput]], states: list[SessionState]) -> float:
    scratch = copy.deepcopy(states)
    with FlopCounterMode(display=False) as counter:
        for inputs in turns:
            step(inputs, scratch)
    return float(counter.get_total_flops()) / (len(turns) * len(states))


def measure(net: InteractionNetwork, batch: int, warm: int, window: int, runs: int) -> dict[str, Any]:
    names = [f"session-{i:03d}" for i in range(batch)]
    size = net.config.video_size
    old_states, new_states = [net.new_state() for _ in names], [net.new_state() for _ in names]
    for k in range(warm):
        inputs = [bench_turn(name, k, size) for name in names]
        net.step_per_session(inputs, old_states)
        net.step(inputs, new_states)
    turns = [[bench_turn(name, k, size) for name in names] for k in range(warm, warm + window)]
    samples: dict[str, list[float]] = {"old": [], "new": []}
    for _ in range(runs):
        samples["old"].append(window_cpu(net.step_per_session, turns, old_states))
        samples["new"].append(window_cpu(net.step, turns, new_states))
    stats = {key: summary(values) for key, values in samples.items()}
    return {
        "batch": batch,
        "old_cpu_ms_per_session_turn": stats["old"],
        "new_cpu_ms_per_session_turn": stats["new"],
        "ratio_old_over_new": stats["old"]["median"] / stats["new"]["median"],
        "model_mflop_per_session_turn": window_flops(net.step_per_session, turns, old_states) / 1e6,
        "executed_mflop_per_session_turn": window_flops(net.step, turns, new_states) / 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", choices=sorted(CONFIGS), default="tiny")
    parser.add_argument("--checkpoint", default="", help="checkpoint path; default seeded weights")
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 8, 32, 64], help="sessions per step")
    parser.add_argument("--warm", type=int, default=20, help="turns each session runs before timing")
    parser.add_argument("--window", type=int, default=10, help="consecutive turns timed per run")
    parser.add_argument("--runs", type=int, default=3, help="timed repetitions per path and batch")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    args = parser.parse_args()
    torch.set_num_threads(1)
    net = load_checkpoint(args.checkpoint) if args.checkpoint else InteractionNetwork.seeded(CONFIGS[args.config], 0)
    results = [measure(net, batch, args.warm, args.window, args.runs) for batch in args.batch]
    with open("/proc/loadavg") as handle:
        load = handle.read().split()[:3]
    if args.json:
        print(json.dumps({"version": net.version, "loadavg": load, "results": results}, indent=2))
        return
    print(f"{net.version}: CPU per session-turn, turns {args.warm}..{args.warm + args.window - 1}, {args.runs} runs")
    for r in results:
        print(f"batch {r['batch']}:")
        print(f"  old step_per_session {fmt(r['old_cpu_ms_per_session_turn'])}")
        print(f"  new step (batched)   {fmt(r['new_cpu_ms_per_session_turn'])}")
        print(
            f"  old/new {r['ratio_old_over_new']:.2f}x; matrix-product MFLOP per session-turn: "
            f"model {r['model_mflop_per_session_turn']:.2f}, executed by batched step "
            f"{r['executed_mflop_per_session_turn']:.2f}"
        )
    print(f"load average {' '.join(load)}")


if __name__ == "__main__":
    main()
