"""Turn-taking on the held-out spoken corpus, through the real pipeline, for tiny-v2, tiny-v1 and
the harness side by side (issue 15).

Each held-out dialogue (inference/training/speech.py, generated into --corpus if missing) is
streamed as a session per model, with its labels in SessionStarted.metadata, through Kafka ->
worker -> Triton -> archive; then `microturn eval`'s code scores each model's archived sessions.
Two stacks share one Kafka broker: stack A's Triton serves the `interaction` model with tiny-v1
(and the `harness` model; sessions select it with metadata["model"]), stack B's with tiny-v2
(MICROTURN_MODEL_CHECKPOINT). Sessions are streamed as fast as the broker takes them: the model
sees the same turns either way, and its outputs do not depend on timing.

    .venv/bin/python benchmarks/turn_taking.py [--dialogues 24] [--timeout 900] [--json OUT]

Bounded: every wait has a deadline (--timeout overall); every process is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from inference.training.speech import load_or_make, write  # noqa: E402
from infra.stack import Stack, StackSettings  # noqa: E402
from replay.evaluation.fleet import evaluate_archive  # noqa: E402
from replay.evaluation.labels import LABELS_KEY  # noqa: E402
from replay.session.sources import from_archive  # noqa: E402
from schemas import Topics  # noqa: E402
from streams.publish import publish_file  # noqa: E402
from streams.tail import OutputTail, sessions_complete  # noqa: E402

CHECKPOINTS = ROOT / "inference" / "checkpoints"
ROWS = (
    ("tiny-v2", "B", "interaction"),
    ("tiny-v1", "A", "interaction"),
    ("harness", "A", "harness"),
)
"""(row name, stack, Triton model the sessions select)."""


async def _stream(
    bootstrap: str, prefix: str, sessions: list[tuple[str, Path, dict[str, str]]], timeout_s: float
) -> None:
    topics = Topics(prefix)
    ids = [s for s, _, _ in sessions]
    async with OutputTail(bootstrap, topics.output, sessions=ids) as capture:
        for session_id, path, metadata in sessions:
            await publish_file(bootstrap, topics, path, session_id, metadata=metadata)
        await capture.until(sessions_complete(ids), timeout_s)


def _wait_archived(root: Path, session_ids: list[str], deadline: float) -> None:
    """Until the archive holds every session's turns and outputs (the archiver commits in batches)."""
    pending = list(session_ids)
    while pending and time.monotonic() < deadline:
        still = []
        for session_id in pending:
            try:
                rec = from_archive(root, session_id)
                done = bool(rec.turns) and rec.turns[-1].final and len(rec.outputs) == len(rec.turns)
            except Exception:  # noqa: BLE001 - not there yet (missing folders or session)
                done = False
            if not done:
                still.append(session_id)
        pending = still
        if pending:
            time.sleep(2.0)
    if pending:
        raise SystemExit(f"turn_taking: {len(pending)} session(s) never fully archived, e.g. {pending[0]}")


def _cell(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:.3f}{unit}"


def table(results: dict[str, dict[str, Any]]) -> str:
    """The side-by-side table."""
    head = (
        f"{'model':9} {'pause TOR':>10} {'bc/min':>7} {'bc TOR':>7} {'smooth TOR':>11} {'smooth lat':>11} "
        f"{'interr yield':>13} {'interr lat':>11}"
    )
    lines = [head, "-" * len(head)]
    for name, doc in results.items():
        p, b, s, i = doc["pause"], doc["backchannel"], doc["smooth_turn_taking"], doc["interruption"]
        lines.append(
            f"{name:9} {_cell(p['takeover_rate']):>10} {_cell(b['per_minute']):>7} {_cell(b['takeover_rate']):>7} "
            f"{_cell(s['takeover_rate']):>11} {_cell(s['latency_s']['mean'], ' s'):>11} "
            f"{_cell(i['takeover_rate']) + ' (' + str(i['interruptions']) + ')':>13} "
            f"{_cell(i['latency_s']['mean'], ' s'):>11}"
        )
    return "\n".join(lines)


def goals(doc: dict[str, Any]) -> dict[str, bool | None]:
    """Issue 15's goals for one model's document."""
    latency = doc["smooth_turn_taking"]["latency_s"]["mean"]
    pause = doc["pause"]["takeover_rate"]
    interruption = doc["interruption"]["latency_s"]["mean"]
    return {
        "smooth_latency_below_0.40_s": None if latency is None else latency < 0.40,
        "pause_takeover_at_most_0.2": None if pause is None else pause <= 0.2,
        "interruption_latency_below_0.3_s": None if interruption is None else interruption < 0.3,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dialogues", type=int, default=24, help="held-out dialogues per model (default 24)")
    parser.add_argument("--corpus", type=Path, default=ROOT / ".microturn" / "corpus", help="spoken corpus folder")
    parser.add_argument("--timeout", type=float, default=900.0, help="overall deadline in seconds")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)
    deadline = time.monotonic() + args.timeout
    dialogues = [load_or_make(args.corpus, "heldout", i) for i in range(args.dialogues)]
    for item in dialogues:
        if not (args.corpus / "heldout" / f"{item.name}.wav").exists():
            write(item, args.corpus / "heldout")
    cache = Path(os.environ.get("MICROTURN_CACHE_DIR", Path.home() / ".cache" / "microturn"))
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="turn-taking-") as tmp:
        state = Path(tmp)
        stacks: dict[str, Stack] = {}
        try:
            for name, checkpoint in (("A", "tiny-v1.pt"), ("B", "tiny-v2.pt")):
                os.environ["MICROTURN_MODEL_CHECKPOINT"] = str(CHECKPOINTS / checkpoint)
                kafka = stacks["A"].status()["kafka"]["bootstrap"] if stacks else None
                stack = Stack(
                    StackSettings(
                        state_dir=state / name, cache_dir=cache, kafka=kafka, topic_prefix=f"tt{name}", archivers=1
                    )
                )
                stacks[name] = stack
                stack.up(say=lambda line: print(line, file=sys.stderr))
            os.environ.pop("MICROTURN_MODEL_CHECKPOINT")
            bootstrap = stacks["A"].status()["kafka"]["bootstrap"]
            sessions: dict[str, list[str]] = {}
            for row, stack_name, model in ROWS:
                todo = [
                    (
                        f"{row}-{d.name}",
                        args.corpus / "heldout" / f"{d.name}.wav",
                        {"model": model, LABELS_KEY: d.labels_json()},
                    )
                    for d in dialogues
                ]
                sessions[row] = [s for s, _, _ in todo]
                left = deadline - time.monotonic()
                asyncio.run(_stream(bootstrap, f"tt{stack_name}", todo, left))
                print(f"{row}: {len(todo)} sessions answered", file=sys.stderr)
            results: dict[str, dict[str, Any]] = {}
            for row, stack_name, _ in ROWS:
                root = state / stack_name / "archive"
                _wait_archived(root, sessions[row], deadline)
                report, skipped = evaluate_archive(root, sessions[row])
                if skipped:
                    raise SystemExit(f"turn_taking: {row}: sessions not evaluated: {skipped}")
                results[row] = report.as_dict()
                results[row].pop("per_session")
        finally:
            for stack in reversed(list(stacks.values())):
                stack.down(say=lambda _: None)
    print(table(results))
    print()
    for row, doc in results.items():
        met = goals(doc)
        print(
            f"{row:9} goals: "
            + ", ".join(f"{k} {'MET' if v else 'NOT MET' if v is not None else 'n/a'}" for k, v in met.items())
        )
    print(f"\n{args.dialogues} held-out dialogues per model, {time.monotonic() - started:.0f} s wall")
    if args.json:
        args.json.write_text(
            json.dumps({"results": results, "goals": {r: goals(d) for r, d in results.items()}}, indent=1)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
