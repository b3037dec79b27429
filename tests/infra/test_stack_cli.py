"""`microturn up`, `status --json` and `down` as a user runs them: real processes, own state dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from infra import process
from infra.kafka import jar_dir
from schemas import Topics
from tests.conftest import CACHE_DIR


def microturn(*args: str, state_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MICROTURN_STATE_DIR": str(state_dir), "MICROTURN_LOG_FORMAT": "json"}
    env.pop("MICROTURN_KAFKA", None)
    env.pop("MICROTURN_TRITON", None)
    return subprocess.run(
        [sys.executable, "-m", "infra.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def status(state_dir: Path, code: int = 0) -> dict[str, Any]:
    """`status --json`, asserting its exit code: 0 when all is up, 7 when something `up` runs is down."""
    result = microturn("status", "--json", state_dir=state_dir)
    assert result.returncode == code, result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def check_metrics_and_logs(state_dir: Path, doc: dict[str, Any]) -> None:
    """What `up` started serves /metrics (listed by `status`) and logs JSON lines when asked to."""
    # Every process serves Prometheus metrics on 127.0.0.1; `status` lists the endpoints.
    healthy = status(state_dir)
    assert healthy["down"] == []
    assert healthy["metrics"] == [
        doc["workers"][0]["metrics"],
        doc["archivers"][0]["metrics"],
        doc["triton"]["metrics"],
    ]
    for url in healthy["metrics"]:
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url, timeout=10) as scrape:
            text = scrape.read().decode()
        assert ("nv_inference_count" if url == doc["triton"]["metrics"] else "microturn_turns_total") in text
    human = microturn("status", state_dir=state_dir)
    assert human.returncode == 0 and "archiver" in human.stdout and "DOWN" not in human.stdout

    # MICROTURN_LOG_FORMAT=json: the worker's and archiver's log files are JSON lines, faust's and
    # aiokafka's records included, with no terminal escapes.
    for name in ("worker-0", "archiver"):
        text = (state_dir / "workers" / f"{name}.log").read_text()
        lines = [json.loads(line) for line in text.splitlines()]
        assert lines and "\x1b" not in text
        assert {"worker_starting", "archiver_ready"} & {line["event"] for line in lines}


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    yield tmp_path / "state"
    microturn("down", state_dir=tmp_path / "state")  # never leave processes behind


def test_up_is_idempotent_status_reports_and_down_stops_exactly_what_up_started(state_dir: Path) -> None:
    first = microturn("up", "--json", state_dir=state_dir)
    assert first.returncode == 0, first.stderr
    doc = json.loads(first.stdout)
    kafka, triton, workers = doc["kafka"], doc["triton"], doc["workers"]
    assert kafka["ready"] and triton["ready"]
    assert kafka["bootstrap"].startswith("127.0.0.1:") and triton["grpc"].startswith("127.0.0.1:")
    assert process.is_alive(kafka["pid"], "kafka.Kafka")
    assert process.is_alive(triton["pid"], "tritonserver")
    assert [w["alive"] for w in workers] == [True]
    assert doc["state_dir"] == str(state_dir)
    assert (state_dir / "kafka" / "kafka.log").exists() and (state_dir / "triton" / "triton.log").exists()

    check_metrics_and_logs(state_dir, doc)

    # A standard Kafka client (the broker's own TopicCommand) lists the microturn topics.
    listed = subprocess.run(
        [
            "java",
            "-cp",
            f"{jar_dir(CACHE_DIR)}/*",
            "org.apache.kafka.tools.TopicCommand",
            "--bootstrap-server",
            kafka["bootstrap"],
            "--list",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout.split()
    assert {spec.name for spec in Topics().specs()} <= set(listed)

    again = microturn("up", "--json", state_dir=state_dir)
    assert again.returncode == 0, again.stderr
    redo = json.loads(again.stdout)
    assert redo["kafka"]["pid"] == kafka["pid"] and redo["triton"]["pid"] == triton["pid"]
    assert redo["workers"][0]["pid"] == workers[0]["pid"]

    # A dead worker is restarted by the next `up`.
    process.stop(workers[0]["pid"], "processors")
    stopped = status(state_dir, code=7)
    assert stopped["workers"] == [
        {"name": "worker-0", "pid": workers[0]["pid"], "alive": False, "metrics": workers[0]["metrics"]}
    ]
    assert stopped["down"] == ["worker-0"] and workers[0]["metrics"] not in stopped["metrics"]
    human = microturn("status", state_dir=state_dir)
    assert human.returncode == 7 and "DOWN: worker-0" in human.stdout
    revived = json.loads(microturn("up", "--json", state_dir=state_dir).stdout)
    assert revived["workers"][0]["alive"] and revived["workers"][0]["pid"] != workers[0]["pid"]

    # `up --workers N` grows and shrinks the consumer group; a bad count is refused before anything starts.
    grown = json.loads(microturn("up", "--workers", "2", "--json", state_dir=state_dir).stdout)
    assert [(w["name"], w["alive"]) for w in grown["workers"]] == [("worker-0", True), ("worker-1", True)]
    assert grown["workers"][0]["pid"] == revived["workers"][0]["pid"]
    shrunk = json.loads(microturn("up", "--workers", "1", "--json", state_dir=state_dir).stdout)
    assert [w["name"] for w in shrunk["workers"]] == ["worker-0"]
    assert not process.is_alive(grown["workers"][1]["pid"], "processors")
    refused = microturn("up", "--workers", "0", state_dir=state_dir)
    assert refused.returncode == 2 and "workers must be 1..64" in refused.stderr

    down = microturn("down", "--json", state_dir=state_dir)
    assert down.returncode == 0, down.stderr
    for pid, marker in (
        (kafka["pid"], "kafka.Kafka"),
        (triton["pid"], "tritonserver"),
        (revived["workers"][0]["pid"], "processors"),
    ):
        assert not process.is_alive(pid, marker)
    after = status(state_dir, code=7)
    assert not after["kafka"]["ready"] and not after["triton"]["ready"]  # type: ignore[index]
