"""Shared fixtures: one real Kafka broker and one real Triton server per test run.

Both start on free loopback ports in a temporary state dir and stop at the end of the run, by
pid. Tests that need the whole pipeline use `pipeline`: topics under a prefix of their own and a
worker process for them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra import process
from infra.kafka import MARKER as KAFKA_MARKER
from infra.kafka import KafkaBroker
from infra.stack import Stack, StackSettings
from infra.triton import MARKER as TRITON_MARKER
from infra.triton import TritonServer

CACHE_DIR = Path(os.environ.get("MICROTURN_CACHE_DIR", Path.home() / ".cache" / "microturn"))


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("microturn")


@pytest.fixture(scope="session")
def kafka_bootstrap(run_dir: Path) -> Iterator[str]:
    broker = KafkaBroker(run_dir / "kafka", process.free_port(), process.free_port())
    pid = broker.start(CACHE_DIR)
    yield broker.bootstrap
    process.stop(pid, KAFKA_MARKER)


@pytest.fixture(scope="session")
def triton_server(run_dir: Path) -> Iterator[TritonServer]:
    server = TritonServer(run_dir / "triton", process.free_port(), process.free_port())
    pid = server.start(env={"MICROTURN_MODEL_MAX_SESSIONS": "64", "MICROTURN_MODEL_IDLE_EVICT_S": "600"})
    yield server
    process.stop(pid, TRITON_MARKER)


def unique_prefix(name: str) -> str:
    return f"t-{name[:24].replace('_', '-')}-{uuid.uuid4().hex[:6]}"


@pytest.fixture
def topic_prefix(request: pytest.FixtureRequest) -> str:
    """A topic prefix no other test uses."""
    return unique_prefix(request.node.name)


@pytest.fixture
def pipeline(run_dir: Path, kafka_bootstrap: str, triton_server: TritonServer, topic_prefix: str) -> Iterator[Stack]:
    """This test's topics and one worker for them, on the shared servers; stopped after the test."""
    settings = StackSettings(
        state_dir=run_dir / "stacks" / topic_prefix,
        cache_dir=CACHE_DIR,
        kafka=kafka_bootstrap,
        triton=triton_server.grpc_url,
        topic_prefix=topic_prefix,
    )
    stack = Stack(settings)
    stack.up(say=lambda _: None)
    yield stack
    stack.down(say=lambda _: None)
