"""Real-time capacity: how many simultaneous Twilio calls the whole stack answers in time.

The stack is the one `microturn up` runs (Kafka, --tritons Triton servers with the served
checkpoint (Triton's statistics below are the first server's), --workers worker processes and
the archiver), started in a temporary state dir, plus `microturn serve twilio` as its own
process: the front door. Nothing is switched off. Each level places N calls at once from
separate caller processes (`benchmarks.capacity_callers`, at most
--calls-per-process each), so the callers never share the server's event loop. A call streams
--seconds of a caller who talks 0.6 s of every 1.2 s as 20 ms mu-law frames in real time, then
1 s of silence, and plays back what comes like Twilio's media buffer. Calls start spread over
one 200 ms turn.

Per level:
- mouth-to-ear p50/p99 at the caller (last frame of turn k sent -> first frame of the model's
  audio for turn k heard; turns the model spoke in);
- ingest->output p50/p99 from the broker's record timestamps (AudioChunk of turn k -> ModelOutput
  of turn k), split into chunk->microturn (worker assembly) and microturn->output (interaction),
  with the Triton request as the worker timed it (ModelOutput.model_ms) and Triton's own
  per-request queue and compute times and batch sizes (its statistics API) over the window;
- unanswered turns (an AudioChunk, no ModelOutput) and late turns (ingest->output > 200 ms: the
  answer came after the caller's next turn was complete);
- CPU per process in cores over the steady window (all calls streaming): from /proc utime+stime
  of Kafka, tritonserver, its python-backend stub(s), each worker, the archiver, the ingress server
  and the callers; and the stack's CPU per call (callers excluded);
- /proc/loadavg: the machine may be shared;
- per turn, from level start until its records were read (`benchmarks.capacity_topics`): record
  batches, records and stored bytes of every topic on the broker (its log segments), read/write
  system calls of each process, and the broker's CPU by JVM thread kind (compilers, collector, rest).

The unreported warm-up repeats until the broker's JIT compilers are quiet (`warm_up`).

A level passes when ingest->output p99 < 150 ms, mouth-to-ear p99 < 300 ms, no turn is
unanswered and every call ended normally. The run stops at the first failing level (unless
--keep-going) and reports the largest passing level and calls per core. Every level has a hard
deadline; every process started here is stopped by pid at the end. --profile N records py-spy
(raw, --threads, non-blocking, idle excluded) of the worker, the Triton stub and the ingress
server during level N; see docs/performance.md.

    .venv/bin/python benchmarks/capacity.py [--levels 1,5,10,20,50,100] [--seconds 10] [--json]

Payloads are encrypted per session, as `microturn up` does by default; `--no-encryption` runs the
same stack and front door with MICROTURN_ENCRYPTION=off, to A/B the added latency and CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import secrets
import select
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.capacity_broker import LevelLog, end_offsets, read_level
from benchmarks.capacity_topics import LevelTraffic, print_figures, thread_cpu
from benchmarks.live_common import (
    CACHE,
    LINGER_S,
    TAIL_S,
    children,
    cpu_seconds,
    run_queue_wait_seconds,
    start_server,
    stats,
)
from benchmarks.pyspy_summary import summary
from infra.stack import Stack, StackSettings
from schemas import Topics

INGEST_P99_MS = 150.0
MOUTH_TO_EAR_P99_MS = 300.0
LATE_MS = 200.0
JIT_QUIET_CORES = 0.05
"""The warm-up ends once the broker's JIT compiler threads used less than this during a round."""
PYSPY_FLAGS = ("--format", "raw", "--threads", "--nonblocking")  # idle samples excluded (no --idle)


@dataclass
class Target:
    """The running stack and front door."""

    url: str
    token: str
    bootstrap: str
    topics: Topics
    triton_http: str
    processes: dict[str, int]
    """Name -> pid of every long-lived process (CPU includes its descendants, except tritonserver)."""
    triton_pid: int
    kafka_data: Path | None = None
    """The broker's log.dirs (None: an external broker), read for the level's traffic per topic."""


def cpu_snapshot(target: Target, callers: list[int], meter: Any = cpu_seconds) -> dict[str, float]:
    """`meter` (CPU seconds, or run-queue wait seconds) so far per process; the Triton stubs
    (children of tritonserver) apart."""
    snap = {name: meter(pid) for name, pid in target.processes.items()}
    snap["triton"] = meter(target.triton_pid, descendants=False)
    snap["triton stub"] = sum(meter(pid) for pid in children(target.triton_pid))
    snap["callers"] = sum(meter(pid, descendants=False) for pid in callers)
    return snap


def triton_stats(http: str) -> dict[str, Any]:
    """Triton's cumulative statistics of the interaction model."""
    with urllib.request.urlopen(f"http://{http}/v2/models/interaction/stats", timeout=5) as response:
        doc: dict[str, Any] = json.loads(response.read())["model_stats"][0]
        return doc


def triton_delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Per request over the window: queue and compute ms (a request is charged its whole batch's
    execution), how requests were batched, and the executions' total time (the instance's busy time)."""
    a, b = before["inference_stats"], after["inference_stats"]
    count = int(b["success"]["count"]) - int(a["success"]["count"])

    def per_request(key: str) -> float:
        return round((int(b[key]["ns"]) - int(a[key]["ns"])) / max(count, 1) / 1e6, 2)

    executions = int(after["execution_count"]) - int(before["execution_count"])
    sizes_before = {s["batch_size"]: int(s["compute_infer"]["count"]) for s in before.get("batch_stats", [])}
    sizes = {
        int(s["batch_size"]): int(s["compute_infer"]["count"]) - sizes_before.get(s["batch_size"], 0)
        for s in after.get("batch_stats", [])
    }

    def busy_ns(stats: dict[str, Any]) -> int:  # batch_stats: ns per execution of each batch size
        parts = ("compute_input", "compute_infer", "compute_output")
        return sum(int(s[k]["ns"]) for s in stats.get("batch_stats", []) for k in parts)

    return {
        "execution_ms": round((busy_ns(after) - busy_ns(before)) / 1e6, 1),
        "requests": count,
        "executions": executions,
        "mean_batch": round(count / executions, 1) if executions else 0.0,
        "batch_sizes": {k: v for k, v in sorted(sizes.items()) if v},
        "queue_ms": per_request("queue"),
        "compute_ms": round(sum(per_request(k) for k in ("compute_input", "compute_infer", "compute_output")), 2),
    }


def _wait_started(proc: subprocess.Popen[str], deadline: float) -> None:
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if ready:
            if "started" in proc.stdout.readline():
                return
            raise RuntimeError(f"caller process {proc.pid} failed to start (exit {proc.poll()})")
    raise RuntimeError(f"caller process {proc.pid} did not start in time")


def _stop(proc: subprocess.Popen[Any], sig: int = signal.SIGTERM, wait_s: float = 10.0) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(wait_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _profile(target: Target, out: Path, rate: int, seconds: int) -> list[subprocess.Popen[bytes]]:
    stubs = children(target.triton_pid)
    pids = {"worker": target.processes["worker-0"], "ingress": target.processes["ingress server"]}
    pids.update({f"triton-stub-{i}": pid for i, pid in enumerate(stubs)})
    spy = Path(sys.executable).parent / "py-spy"
    out.mkdir(parents=True, exist_ok=True)
    spies = []
    for name, pid in pids.items():
        command = [str(spy), "record", "--pid", str(pid), "--rate", str(rate), "--duration", str(seconds)]
        command += [*PYSPY_FLAGS, "--output", str(out / f"{name}.txt")]
        spies.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    return spies


def run_level(target: Target, calls: int, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Place `calls` simultaneous calls; the level's figures."""
    sids = [f"MZcap{calls:03d}x{i:03d}{uuid.uuid4().hex[:8]}" for i in range(calls)]
    since = asyncio.run(end_offsets(target.bootstrap, target.topics))
    traffic = LevelTraffic(target.kafka_data, target.processes)
    hard_deadline = time.monotonic() + args.seconds + TAIL_S + LINGER_S + 60 + calls * 0.2
    callers: list[subprocess.Popen[str]] = []
    spies: list[subprocess.Popen[bytes]] = []
    results: list[dict[str, Any]] = []
    try:
        for start in range(0, calls, args.calls_per_process):
            group = sids[start : start + args.calls_per_process]
            spec = workdir / f"level{calls}-{start}.json"
            spec.write_text(
                json.dumps(
                    {
                        "url": target.url,
                        "token": target.token,
                        "sids": group,
                        "seconds": args.seconds,
                        "tail_s": TAIL_S,
                        "linger_s": LINGER_S,
                        "spread_s": 0.2 * len(group) / calls,
                    }
                )
            )
            callers.append(
                subprocess.Popen(
                    [sys.executable, "-m", "benchmarks.capacity_callers", str(spec), str(spec.with_suffix(".out"))],
                    stdout=subprocess.PIPE,
                    text=True,
                )
            )
        for proc in callers:
            _wait_started(proc, hard_deadline)
        launched = time.monotonic()
        time.sleep(1.0)  # every call connected and streaming
        pids = [p.pid for p in callers]
        wait_a = cpu_snapshot(target, pids, run_queue_wait_seconds)
        cpu_a, triton_a, window_a = cpu_snapshot(target, pids), triton_stats(target.triton_http), time.monotonic()
        if args.profile == calls:
            spies = _profile(target, args.profile_dir, args.profile_rate, args.profile_seconds)
        time.sleep(max(0.5, launched + args.seconds - 0.5 - time.monotonic()))
        cpu_b, triton_b, window = cpu_snapshot(target, pids), triton_stats(target.triton_http), time.monotonic()
        wait_b = cpu_snapshot(target, pids, run_queue_wait_seconds)
        window -= window_a
        loadavg = Path("/proc/loadavg").read_text().split()[:3]
        for proc in callers:
            try:
                proc.wait(max(1.0, hard_deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _stop(proc)
            spec = workdir / f"level{calls}-{args.calls_per_process * callers.index(proc)}.out"
            if spec.exists():
                results.extend(json.loads(spec.read_text())["calls"])
        for spy in spies:
            with contextlib.suppress(subprocess.TimeoutExpired):  # stopped below
                spy.wait(max(1.0, hard_deadline - time.monotonic()))
    finally:
        for proc in callers:
            _stop(proc)
        for spy in spies:
            _stop(spy, signal.SIGINT)
    log = _collect(target, since, set(sids), hard_deadline)
    cores = {name: round((cpu_b[name] - cpu_a[name]) / window, 3) for name in cpu_a}
    doc = _figures(calls, results, log)
    stack_cores = sum(v for k, v in cores.items() if k != "callers")
    doc.update(
        loadavg=loadavg,
        window_s=round(window, 1),
        cpu_cores=cores,
        run_queue_wait_cores={name: round((wait_b[name] - wait_a[name]) / window, 3) for name in wait_a},
        stack_cores=round(stack_cores, 3),
        stack_cores_per_call=round(stack_cores / calls, 4),
        triton=triton_delta(triton_a, triton_b),
    )
    doc.update(traffic.figures(doc["turns_published"], target.topics.prefix + "."))  # its records were read
    doc["triton"]["instance_busy"] = round(doc["triton"]["execution_ms"] / 1000 / window, 2)
    doc["passed"], doc["why"] = _verdict(doc)
    return doc


def warm_up(target: Target, args: argparse.Namespace, tmp: Path) -> None:
    """Unreported rounds of --warmup-calls calls until the broker's JIT compilers are quiet (below
    JIT_QUIET_CORES over a round; at most --warmup-rounds). A long-running stack is warm: measure
    that, not start-up. One round of 10 calls of 20 s was not enough: the compilers then took
    40-60% of the broker's CPU over the next two levels (docs/performance.md)."""
    warm = argparse.Namespace(**{**vars(args), "seconds": args.warmup_seconds, "profile": 0})
    broker = target.processes.get("kafka")
    for done in range(1, args.warmup_rounds + 1):
        jit, started = thread_cpu(broker)["jit"] if broker else 0.0, time.monotonic()
        run_level(target, args.warmup_calls, warm, tmp)
        cores = ((thread_cpu(broker)["jit"] if broker else 0.0) - jit) / (time.monotonic() - started)
        _say(f"warm-up {done}: {args.warmup_calls} calls of {args.warmup_seconds:g} s; broker JIT {cores:.2f} cores")
        if cores < JIT_QUIET_CORES:
            return


def _collect(target: Target, since: Any, sids: set[str], deadline: float) -> LevelLog:
    """What the broker recorded for the level; waits (bounded) for every session's final output."""
    while True:
        log = asyncio.run(asyncio.wait_for(read_level(target.bootstrap, target.topics, since, sids), 60))
        if log.finals() >= sids or time.monotonic() > deadline:
            return log
        time.sleep(1.0)


def _figures(calls: int, results: list[dict[str, Any]], log: LevelLog) -> dict[str, Any]:
    m2e: list[float] = []
    ingress: list[float] = []
    egress: list[float] = []
    send_lag: list[float] = []
    for call in results:
        sent = call.get("sent_ns", [])
        for turn_text, heard in call.get("first_frame_ns", {}).items():
            turn, last = int(turn_text), 10 * int(turn_text) + 9
            if last < len(sent):
                m2e.append((heard - sent[last]) / 1e6)
            stamps = log.turns.get((call["sid"], turn))
            if stamps is not None and stamps.output_ms is not None:
                egress.append(heard / 1e6 - stamps.output_ms)
        for turn in range(len(sent) // 10):
            stamps = log.turns.get((call["sid"], turn))
            if stamps is not None and stamps.chunk_wall_ns:
                ingress.append((stamps.chunk_wall_ns - sent[10 * turn + 9]) / 1e6)
        send_lag.extend((ns - sent[0]) / 1e6 - 20 * i for i, ns in enumerate(sent))
    chunks = [t for t in log.turns.values() if t.chunk_ms is not None]
    answered = [t for t in chunks if t.output_ms is not None]
    # (chunk ts, microturn ts, output ts, output built, model ms) of the turns every stage saw
    hops = [
        (t.chunk_ms, t.turn_ms, t.output_ms, t.output_wall_ns / 1e6, t.model_ms)
        for t in answered
        if t.chunk_ms is not None and t.turn_ms is not None and t.output_ms is not None
    ]
    ingest_out = [float(out - chunk) for chunk, _, out, _, _ in hops]
    return {
        "calls": calls,
        "calls_ok": sum(c.get("server_closed", False) and c.get("close_code") == 1000 for c in results),
        "call_errors": [c["error"] for c in results if "error" in c][:5],
        "turns_sent": sum(-(-len(c.get("sent_ns", [])) // 10) for c in results),
        "turns_published": len(chunks),
        "turns_answered": len(answered),
        "unanswered": len(chunks) - len(answered),
        "late": sum(v > LATE_MS for v in ingest_out),
        "mouth_to_ear_ms": stats(m2e),
        "ingest_to_output_ms": stats(ingest_out),
        "chunk_to_microturn_ms": stats([float(turn - chunk) for chunk, turn, _, _, _ in hops]),
        "microturn_to_output_ms": stats([float(out - turn) for _, turn, out, _, _ in hops]),
        "model_ms": stats([t.model_ms for t in answered]),
        "worker_wait_ms": stats([built - turn - model for _, turn, _, built, model in hops]),
        "ingress_ms": stats(ingress),
        "egress_ms": stats(egress),
        "caller_send_lag_ms": stats(send_lag),
    }


def _verdict(doc: dict[str, Any]) -> tuple[bool, str]:
    why = []
    ingest, m2e = doc["ingest_to_output_ms"], doc["mouth_to_ear_ms"]
    if not ingest.get("n") or ingest["p99"] >= INGEST_P99_MS:
        why.append(f"ingest->output p99 {ingest.get('p99', '-')} ms >= {INGEST_P99_MS:g}")
    if not m2e.get("n") or m2e["p99"] >= MOUTH_TO_EAR_P99_MS:
        why.append(f"mouth-to-ear p99 {m2e.get('p99', '-')} ms >= {MOUTH_TO_EAR_P99_MS:g}")
    if doc["unanswered"]:
        why.append(f"{doc['unanswered']} turn(s) unanswered")
    if doc["calls_ok"] < doc["calls"]:
        why.append(f"{doc['calls'] - doc['calls_ok']} call(s) did not end normally {doc['call_errors']}")
    return not why, "; ".join(why) or "all limits met"


def _row(name: str, s: dict[str, Any]) -> str:
    p50, p99, top = (s.get(k, "-") for k in ("p50", "p99", "max"))
    return f"  {name:<34} p50 {p50:>7}  p99 {p99:>7}  max {top:>7}  n {s['n']}"


def print_level(doc: dict[str, Any]) -> None:
    print(
        f"level {doc['calls']} calls: {'PASS' if doc['passed'] else 'FAIL'} ({doc['why']}); "
        f"loadavg {' '.join(doc['loadavg'])}; CPU window {doc['window_s']} s"
    )
    print(
        f"  calls ended ok {doc['calls_ok']}/{doc['calls']}; turns sent {doc['turns_sent']}, published "
        f"{doc['turns_published']}, answered {doc['turns_answered']}, unanswered {doc['unanswered']}, "
        f"late (>{LATE_MS:g} ms) {doc['late']}"
    )
    print(_row("mouth-to-ear ms (caller)", doc["mouth_to_ear_ms"]))
    print(_row("ingest->output ms (broker ts)", doc["ingest_to_output_ms"]))
    print(_row("  chunk->microturn (assemble)", doc["chunk_to_microturn_ms"]))
    print(_row("  microturn->output (interact)", doc["microturn_to_output_ms"]))
    print(_row("    model_ms (Triton request)", doc["model_ms"]))
    print(_row("    worker wait around the request", doc["worker_wait_ms"]))
    t = doc["triton"]
    print(
        f"  Triton per request: queue {t['queue_ms']} ms, compute {t['compute_ms']} ms; {t['requests']} requests in "
        f"{t['executions']} executions (mean batch {t['mean_batch']}; sizes {t['batch_sizes']}); "
        f"executions took {t['instance_busy']:.0%} of the window (one instance, serial)"
    )
    print(_row("ingress ms (frame sent -> chunk)", doc["ingress_ms"]))
    print(_row("egress ms (output ts -> first frame)", doc["egress_ms"]))
    print(_row("caller send lag ms", doc["caller_send_lag_ms"]))
    shares = ", ".join(f"{name} {v:.2f}" for name, v in doc["cpu_cores"].items())
    print(f"  CPU cores: {shares}")
    waits = ", ".join(f"{name} {v:.2f}" for name, v in doc["run_queue_wait_cores"].items())
    print(f"  runnable but waiting for a CPU (cores' worth): {waits}")
    print(f"  stack (callers excluded): {doc['stack_cores']:.2f} cores = {doc['stack_cores_per_call']:.3f} per call")
    print_figures(doc, doc["turns_published"])


def conclusion(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """The largest passing level, and calls per core at it."""
    passed = [d for d in docs if d["passed"]]
    best = max(passed, key=lambda d: d["calls"]) if passed else None
    cores = os.cpu_count() or 1
    return {
        "capacity_calls": best["calls"] if best else 0,
        "calls_per_core": round(best["calls"] / cores, 2) if best else 0.0,
        "stack_cores_per_call": best["stack_cores_per_call"] if best else None,
        "cores": cores,
    }


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levels", default="1,5,10,20,50,100", help="simultaneous calls per level, ascending")
    parser.add_argument("--seconds", type=float, default=10.0, help="caller audio per call (default 10 s)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes, as `microturn up --workers`")
    parser.add_argument("--tritons", type=int, default=1, help="local Triton servers, as `microturn up --tritons`")
    parser.add_argument("--calls-per-process", type=int, default=50, help="calls per caller process (default 50)")
    parser.add_argument("--keep-going", action="store_true", help="run every level even after one fails")
    parser.add_argument("--warmup-calls", type=int, default=10, help="calls of the unreported warm-up level (10)")
    parser.add_argument("--warmup-seconds", type=float, default=20.0, help="their length (default 20 s)")
    parser.add_argument(
        "--warmup-rounds", type=int, default=8, help="at most this many warm-up levels, until the broker's JIT is quiet"
    )
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="py-spy the level of N calls")
    parser.add_argument("--profile-seconds", type=int, default=15)
    parser.add_argument("--profile-rate", type=int, default=50, help="py-spy samples per second (default 50)")
    parser.add_argument("--profile-dir", type=Path, default=Path("capacity-profile"))
    parser.add_argument(
        "--no-encryption",
        dest="encryption",
        action="store_false",
        help="payloads in the clear (MICROTURN_ENCRYPTION=off for the stack and the front door)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    args.level_list = [int(n) for n in args.levels.split(",")]
    if args.profile and args.seconds < args.profile_seconds + 2:
        parser.error(f"--profile needs --seconds >= --profile-seconds + 2 = {args.profile_seconds + 2}")
    return args


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run(args: argparse.Namespace, tmp: Path) -> list[dict[str, Any]]:
    """Start the stack and the front door, run the levels, stop everything; the levels' figures."""
    docs: list[dict[str, Any]] = []
    prefix = f"cap-{uuid.uuid4().hex[:6]}"
    state_dir = tmp / "stack"
    settings = StackSettings.from_env(
        state_dir=state_dir,
        cache_dir=CACHE,
        topic_prefix=prefix,
        workers=args.workers,
        tritons=args.tritons,
        archivers=1,
    )
    stack = Stack(settings)
    server = None
    try:
        status = stack.up(_say)
        token = secrets.token_hex(16)
        bootstrap = status["kafka"]["bootstrap"]
        server, url = start_server(bootstrap, prefix, state_dir, token, max_calls=max(args.level_list) + 10)
        processes = {"kafka": status["kafka"]["pid"], "ingress server": server.pid}
        processes.update({w["name"]: w["pid"] for w in status["workers"]})
        processes.update({a["name"]: a["pid"] for a in status.get("archivers", [])})
        # Servers after the first: their CPU with their stubs (the first one's is split out).
        processes.update({f"triton-{i}": t["pid"] for i, t in enumerate(status["tritons"][1:], start=1)})
        target = Target(
            url,
            token,
            bootstrap,
            Topics(prefix),
            status["triton"]["http"],
            processes,
            status["triton"]["pid"],
            None if status["kafka"].get("external") else state_dir / "kafka" / "data",
        )
        warm_up(target, args, tmp)
        for calls in args.level_list:
            _say(f"level: {calls} simultaneous call(s) of {args.seconds:g} s")
            doc = run_level(target, calls, args, tmp)
            docs.append(doc)
            if not args.json:
                print_level(doc)
                sys.stdout.flush()
            if not doc["passed"] and not args.keep_going:
                break
    finally:
        if server is not None:
            _stop(server, signal.SIGINT, 30.0)
        stack.down(_say)
    return docs


def main() -> None:
    args = _args()
    if not args.encryption:
        os.environ["MICROTURN_ENCRYPTION"] = "off"  # read by `up` (StackSettings.from_env) and every process
    with tempfile.TemporaryDirectory() as tmp:
        docs = run(args, Path(tmp))
    report: dict[str, Any] = {
        "machine": f"{platform.machine()} {os.cpu_count()} cores, {platform.python_implementation()} "
        f"{platform.python_version()}",
        "seconds_per_call": args.seconds,
        "workers": args.workers,
        "tritons": args.tritons,
        "encryption": args.encryption,
        "levels": docs,
        "result": conclusion(docs),
    }
    if args.profile and (args.profile_dir / "worker.txt").exists():
        report["profile"] = {
            p.stem: summary(p, args.profile_rate, args.profile_seconds) for p in sorted(args.profile_dir.glob("*.txt"))
        }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    r = report["result"]
    print(report["machine"])
    print(
        f"capacity: {r['capacity_calls']} simultaneous calls (ingest->output p99 < {INGEST_P99_MS:g} ms, "
        f"mouth-to-ear p99 < {MOUTH_TO_EAR_P99_MS:g} ms, no turn unanswered); calls per core: {r['calls_per_core']} "
        f"({r['capacity_calls']} / {r['cores']} cores); stack CPU per call there: {r['stack_cores_per_call']} cores"
    )
    for text in report.get("profile", {}).values():
        print(text)


if __name__ == "__main__":
    main()
