"""The capacity benchmark's pure parts: py-spy summaries, Triton deltas, per-level figures, verdicts."""

from __future__ import annotations

from typing import Any

from benchmarks.capacity import _figures, _verdict, triton_delta
from benchmarks.capacity_broker import LevelLog, TurnStamps
from benchmarks.pyspy_summary import parse

RAW = (
    "thread (11): MainThread;main (app.py:3);step (net.py:10);_turn (net.py:20) 30\n"
    "thread (11): MainThread;main (app.py:3);step (net.py:10) 10\n"
    "thread (12): Thread-1 (poll);poll (/x/site-packages/aiokafka/fetcher.py:5) 20\n"
    "not a sample line\n"
)


def test_pyspy_parse_counts_threads_self_and_inclusive_frames() -> None:
    profile = parse(RAW)
    assert profile.samples == 60
    assert profile.threads == {"MainThread": 40, "Thread-1 (poll)": 20}
    assert profile.self_frames["_turn (net.py)"] == 30
    assert profile.self_frames["step (net.py)"] == 10
    assert profile.inclusive["step (net.py)"] == 40
    assert profile.packages["aiokafka"] == 20


def _stats(count: int, queue_ns: int, infer_ns: int, executions: int, batches: dict[int, tuple[int, int]]) -> Any:
    zero = {"count": 0, "ns": 0}
    return {
        "execution_count": executions,
        "inference_stats": {
            "success": {"count": count, "ns": 0},
            "queue": {"count": count, "ns": queue_ns},
            "compute_input": zero,
            "compute_infer": {"count": count, "ns": infer_ns},
            "compute_output": zero,
        },
        "batch_stats": [
            {"batch_size": size, "compute_input": zero, "compute_infer": {"count": n, "ns": ns}, "compute_output": zero}
            for size, (n, ns) in batches.items()
        ],
    }


def test_triton_delta_is_per_request_over_the_window() -> None:
    before = _stats(10, 10_000_000, 50_000_000, 10, {1: (10, 50_000_000)})
    after = _stats(30, 50_000_000, 250_000_000, 15, {1: (10, 50_000_000), 4: (5, 100_000_000)})
    delta = triton_delta(before, after)
    assert delta["requests"] == 20
    assert delta["executions"] == 5
    assert delta["mean_batch"] == 4.0
    assert delta["batch_sizes"] == {4: 5}
    assert delta["queue_ms"] == 2.0
    assert delta["compute_ms"] == 10.0
    assert delta["execution_ms"] == 100.0


def _call(sid: str, turns: int, heard_after_ms: float) -> dict[str, Any]:
    sent = [1_000_000_000 + i * 20_000_000 for i in range(10 * turns)]
    heard = {str(k): sent[10 * k + 9] + int(heard_after_ms * 1e6) for k in range(turns)}
    return {"sid": sid, "sent_ns": sent, "first_frame_ns": heard, "server_closed": True, "close_code": 1000}


def test_figures_split_the_turn_and_count_unanswered_and_late_turns() -> None:
    log = LevelLog()
    base_ms = 1_000
    for k in range(3):
        chunk = base_ms + 200 * k + 180
        out = chunk + (250 if k == 2 else 30)  # turn 2 answered late
        log.turns[("a", k)] = TurnStamps(chunk, chunk * 1_000_000, chunk + 10, out, (chunk + 29) * 1_000_000, 5.0)
    log.turns[("a", 3)] = TurnStamps(chunk_ms=base_ms + 780)  # published, never answered
    doc = _figures(1, [_call("a", 3, 40.0)], log)
    assert doc["turns_published"] == 4
    assert doc["unanswered"] == 1
    assert doc["late"] == 1
    assert doc["chunk_to_microturn_ms"]["p50"] == 10.0
    assert doc["mouth_to_ear_ms"]["p50"] == 40.0
    assert doc["worker_wait_ms"]["p50"] == 14.0  # 29 ms built - 10 ms microturn - 5 ms model
    passed, why = _verdict(doc)
    assert not passed
    assert "ingest->output p99 250.0" in why
    assert "1 turn(s) unanswered" in why
