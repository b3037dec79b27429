"""Replay speed: session time replayed per second of wall time, as a multiple of real time.

A synthetic session (a tone with pauses, optionally a camera frame every turn and a text line every
2 s) is recorded offline by the model itself (`replay.session.testing.record_offline`: the real
assembler, the same output conversions as a worker), then replayed exactly N times with
`replay.session.replay`: re-deriving every MicroTurn from the inputs, running every turn through the
network from a fresh state, comparing every output field bit for bit. Reading the log is not
timed (it depends on the broker, not on replay). Prints median and spread over the runs, both by
wall time and by this process's CPU time (the difference is contention from other processes).

    .venv/bin/python benchmarks/replay_speed.py [--runs 7] [--seconds 60] [--config tiny] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import Counter
from typing import Any

from benchmarks.model_common import summary
from inference.network import CONFIGS, InteractionNetwork
from processors.logs import configure
from replay.session import replay
from replay.session.testing import record_offline, synthetic_inputs


def measure(net: InteractionNetwork, seconds: float, runs: int, video: bool) -> dict[str, Any]:
    inputs = synthetic_inputs("bench", seconds, video=video, text_every_s=2.0, video_size=net.config.video_size)
    recording = record_offline(net, inputs)
    wall, cpu = [], []
    for _ in range(runs):
        began = time.process_time()
        report = replay(recording, net)
        if not report.identical:
            raise SystemExit(f"replay diverged: {report.as_dict()}")
        wall.append(report.speed_x_realtime)
        cpu.append(seconds / max(time.process_time() - began, 1e-9))
    return {
        "config": net.config.name,
        "device": str(net.device),
        "session_s": seconds,
        "turns": report.turns,
        "video": video,
        "actions": dict(Counter(o.action for o in recording.outputs)),
        "x_realtime_wall": summary(wall),
        "x_realtime_cpu": summary(cpu),
        "cpus": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


def _line(stats: dict[str, float]) -> str:
    return (
        f"median {stats['median']:7.1f}x  IQR [{stats['p25']:.1f}, {stats['p75']:.1f}]  "
        f"range [{stats['min']:.1f}, {stats['max']:.1f}]  ({int(stats['runs'])} runs)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=60.0, help="session length (default 60 s)")
    parser.add_argument("--config", default="tiny", choices=sorted(CONFIGS))
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    parser.add_argument("--no-video", action="store_true", help="audio and text only")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    configure("warning")
    net = InteractionNetwork.seeded(CONFIGS[args.config], 0).to(args.device).eval()
    result = measure(net, args.seconds, args.runs, not args.no_video)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"replay speed, {result['config']} on {result['device']}: {result['session_s']:.0f} s session, "
        f"{result['turns']} turns, video {'on' if result['video'] else 'off'}, actions {result['actions']}"
    )
    print(f"  wall time: {_line(result['x_realtime_wall'])}")
    print(f"  CPU time:  {_line(result['x_realtime_cpu'])}")
    print(f"  ({result['cpus']} CPUs, load average {result['load_avg_1m']} during the runs)")


if __name__ == "__main__":
    main()
