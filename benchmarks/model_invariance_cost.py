"""What batch invariance costs: `step` (batched with per-session shapes, bitwise batch-invariant;
`batched.py`) vs. `step_fast` (sessions stacked into shared matrix products; not invariant), per
session-turn. `benchmarks/model_batched.py` compares `step` with the per-session `step_per_session`.

Sessions are warmed up for some turns, then the same next turn is timed N times on copies of their
states both ways. Prints median and spread of the per-session-turn wall and CPU time, the ratio,
and how many outputs of `step_fast` differ from `step`'s (bitwise).

    .venv/bin/python benchmarks/model_invariance_cost.py --config tiny --batch 1 8 32 --runs 10
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch

from benchmarks.model_common import bench_turn, fmt, summary
from inference.network import CONFIGS, InteractionNetwork, SessionState, TurnInput, TurnOutput

Step = Callable[[Sequence[TurnInput], Sequence[SessionState]], list[TurnOutput]]


def timed(fn: Step, inputs: list[TurnInput], states: list[SessionState]) -> tuple[float, float, list[TurnOutput]]:
    scratch = copy.deepcopy(states)
    wall, cpu = time.perf_counter(), time.process_time()
    outputs = fn(inputs, scratch)
    return (time.perf_counter() - wall) * 1e3 / len(inputs), (time.process_time() - cpu) * 1e3 / len(inputs), outputs


def measure(net: InteractionNetwork, batch: int, warm: int, runs: int) -> dict[str, Any]:
    names = [f"session-{i:03d}" for i in range(batch)]
    states = [net.new_state() for _ in names]
    for k in range(warm):
        net.step([bench_turn(name, k, net.config.video_size) for name in names], states)
    inputs = [bench_turn(name, warm, net.config.video_size) for name in names]
    samples: dict[str, list[float]] = {"step_wall": [], "step_cpu": [], "fast_wall": [], "fast_cpu": []}
    differing = 0
    for _ in range(runs):
        wall, cpu, exact = timed(net.step, inputs, states)
        samples["step_wall"].append(wall)
        samples["step_cpu"].append(cpu)
        wall, cpu, fast = timed(net.step_fast, inputs, states)
        samples["fast_wall"].append(wall)
        samples["fast_cpu"].append(cpu)
        differing = sum(a != b for a, b in zip(exact, fast, strict=True))
    stats = {key: summary(values) for key, values in samples.items()}
    return {
        "batch": batch,
        "warm_turns": warm,
        "actions": [out.action.name for out in exact],
        "outputs_differing": differing,
        **{f"{k}_ms_per_session_turn": v for k, v in stats.items()},
        "ratio_wall": stats["step_wall"]["median"] / stats["fast_wall"]["median"],
        "ratio_cpu": stats["step_cpu"]["median"] / stats["fast_cpu"]["median"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", choices=sorted(CONFIGS), default="tiny")
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 8, 32], help="sessions per step")
    parser.add_argument("--warm", type=int, default=30, help="turns each session runs before timing")
    parser.add_argument("--runs", type=int, default=10, help="timed repetitions per path and batch")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--seed", type=int, default=0, help="seeded (untrained) weights")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    net = InteractionNetwork.seeded(CONFIGS[args.config], args.seed)
    results = [measure(net, batch, args.warm, args.runs) for batch in args.batch]
    if args.json:
        print(json.dumps({"config": args.config, "threads": args.threads, "results": results}, indent=2))
        return
    print(
        f"{net.version}: batch-invariant step vs batched step_fast, per session-turn, "
        f"{args.runs} runs, {args.threads} thread(s)"
    )
    for r in results:
        actions = r["actions"]
        mix = {name: actions.count(name) for name in sorted(set(actions))}
        print(f"batch {r['batch']} (after {r['warm_turns']} turns; actions {mix}):")
        for key in ("step_wall", "step_cpu", "fast_wall", "fast_cpu"):
            print(f"  {key:10s} {fmt(r[f'{key}_ms_per_session_turn'])}")
        print(
            f"  ratio step/step_fast (medians): wall {r['ratio_wall']:.2f}x, cpu {r['ratio_cpu']:.2f}x; "
            f"step_fast outputs differing from step: {r['outputs_differing']}/{r['batch']}"
        )


if __name__ == "__main__":
    main()
