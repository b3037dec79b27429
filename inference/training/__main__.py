"""`python -m inference.training --out PATH --steps N --seed S`: train the tiny interaction model
on synthetic sessions, save the checkpoint, report held-out accuracy through `step`."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from inference.network import InteractionNetwork
from inference.network.checkpoint import load_checkpoint, save_checkpoint
from inference.training.data import generate_sessions, long_session
from inference.training.evaluate import evaluate, evaluate_by_block
from inference.training.speech import speech_sessions
from inference.training.train import TrainSettings, train


def _speech_held_out(net: InteractionNetwork, folder: Path | None, count: int) -> dict[str, object]:
    """Action accuracy through `step` on the spoken corpus's held-out dialogues."""
    started = time.monotonic()
    held = speech_sessions(folder, "heldout", count)
    return {"dialogues": count, "eval_seconds": round(time.monotonic() - started, 1), **evaluate(net, held).to_dict()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m inference.training", description=__doc__)
    parser.add_argument("--out", required=True, type=Path, help="checkpoint file to write")
    parser.add_argument("--steps", type=int, default=TrainSettings.steps)
    parser.add_argument("--seed", type=int, default=0, help="seeds the init, the training sessions and the noise")
    parser.add_argument("--batch", type=int, default=TrainSettings.batch_sessions, help="sessions per step")
    parser.add_argument("--lr", type=float, default=TrainSettings.lr)
    parser.add_argument("--eval-sessions", type=int, default=60, help="held-out sessions run through step (0: skip)")
    parser.add_argument("--eval-seed", type=int, default=None, help="seed of the held-out sessions (default seed+1000)")
    parser.add_argument("--long-sessions", type=int, default=2, help="held-out audio-only sessions of --long-turns")
    parser.add_argument("--long-turns", type=int, default=600, help="turns of each long session (600 = 2 minutes)")
    parser.add_argument("--report", type=Path, default=None, help="also write the report as JSON here")
    parser.add_argument(
        "--init", type=Path, default=None, help="start from this checkpoint (fine-tune) instead of the seeded init"
    )
    parser.add_argument(
        "--speech-dir",
        type=Path,
        default=None,
        help="spoken corpus folder (inference.training.speech; made if missing)",
    )
    parser.add_argument("--speech-train", type=int, default=0, help="training dialogues of the spoken corpus (0: none)")
    parser.add_argument("--speech-heldout", type=int, default=24, help="held-out dialogues evaluated through step")
    parser.add_argument("--speech-share", type=float, default=0.5, help="share of each batch drawn from speech")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.batch < 1:
        parser.error("--steps and --batch must be >= 1")

    torch.set_num_threads(1)  # deterministic numerics (see inference/network/numerics.py) and a fair share of CPU
    speech = speech_sessions(args.speech_dir, "train", args.speech_train) if args.speech_train else []
    settings = TrainSettings(
        steps=args.steps,
        seed=args.seed,
        batch_sessions=args.batch,
        lr=args.lr,
        speech_share=args.speech_share if speech else 0.0,
    )

    def log(step: int, terms: dict[str, float], elapsed: float) -> None:
        if not args.quiet:
            shown = " ".join(f"{k}={v:.4f}" for k, v in terms.items())
            print(f"step {step:5d}  {elapsed:6.1f}s  {shown}", file=sys.stderr, flush=True)

    started, cpu_started = time.monotonic(), time.process_time()
    init = load_checkpoint(args.init) if args.init is not None else None
    net = train(settings, log=log, net=init, speech=speech)
    train_s, train_cpu_s = time.monotonic() - started, time.process_time() - cpu_started
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(net, args.out)
    report: dict[str, object] = {
        "command": "python -m inference.training " + " ".join(sys.argv[1:] if argv is None else argv),
        "version": net.version,
        "digest": net.digest,
        "checkpoint": str(args.out),
        "checkpoint_bytes": args.out.stat().st_size,
        "train_seconds": round(train_s, 1),
        "train_cpu_seconds": round(train_cpu_s, 1),
        "torch": torch.__version__,
        "settings": settings.__dict__,
    }
    if args.eval_sessions > 0:
        eval_seed = args.seed + 1000 if args.eval_seed is None else args.eval_seed
        started = time.monotonic()
        held_out = evaluate(net, generate_sessions(net.config, eval_seed, 0, args.eval_sessions))
        report["held_out"] = {
            "seed": eval_seed,
            "sessions": args.eval_sessions,
            "eval_seconds": round(time.monotonic() - started, 1),
            **held_out.to_dict(),
        }
    if speech:
        report["speech_held_out"] = _speech_held_out(net, args.speech_dir, args.speech_heldout)
    if args.long_sessions > 0:
        eval_seed = args.seed + 1000 if args.eval_seed is None else args.eval_seed
        sessions = [long_session(eval_seed, i, args.long_turns) for i in range(args.long_sessions)]
        window = evaluate_by_block(net, sessions, block=100)
        report["long_sessions"] = {
            "seed": eval_seed,
            "sessions": args.long_sessions,
            "turns": args.long_turns,
            "accuracy_per_100_turns": window,
            **evaluate(net, sessions).to_dict(),
        }
    text = json.dumps(report, indent=2, default=str)
    print(text)
    if args.report is not None:
        args.report.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
