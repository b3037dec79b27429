"""One archive of real sessions, shared by the analytics and audit tests.

Two sessions go through the real pipeline (broker, worker, Triton): alice (2.0 s, 16 kHz, with
text) and bob (3.0 s, 8 kHz). A real archiver process archives the prefix's topics; the fixture
returns once `wait_synced` says everything is archived and sealed.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import structlog

from infra.cli.main import main
from infra.stack import Stack, StackSettings
from infra.testing import ArchiverProcess
from infra.triton import TritonServer
from processors.archiver.sync import wait_synced
from schemas import Topics
from streams.log import read_topics
from streams.media import TextLine
from streams.publish import StreamSummary, publish_file
from streams.tail import OutputTail, sessions_complete
from tests.conftest import CACHE_DIR, unique_prefix
from tests.integration.test_end_to_end import write_wav

Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[Cli]:
    """`microturn ARGS...` in this process: (exit code, stdout, stderr).

    The process-wide structlog set-up is left alone (the CLI would bind it to this test's captured
    stderr, which later tests would then write to after it closed); logs go to the real stderr.
    """
    monkeypatch.setattr(sys.modules["infra.cli.main"], "configure", lambda *args, **kwargs: None)
    structlog.configure(
        logger_factory=structlog.PrintLoggerFactory(sys.__stderr__),
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        cache_logger_on_first_use=False,
    )

    def run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    yield run
    structlog.reset_defaults()


@dataclass(frozen=True)
class Archived:
    """An archive of streamed sessions and how to reach its log."""

    archive: Path
    key: Path
    bootstrap: str
    prefix: str
    summaries: dict[str, StreamSummary]

    def dead_letters_logged(self) -> int:
        """Records on the dead-letter topic (the pipeline's own rejections, if any)."""
        topics = Topics(self.prefix)
        return len(asyncio.run(read_topics(self.bootstrap, [topics.dlq], topics.partitions)))

    def cli_flags(self) -> list[str]:
        return ["--archive", str(self.archive), "--kafka", self.bootstrap, "--topic-prefix", self.prefix]


async def _stream(bootstrap: str, topics: Topics, folder: Path) -> dict[str, StreamSummary]:
    calls = {
        "alice": (write_wav(folder / "alice.wav", 2.0, 220.0), [TextLine(300, "hello"), TextLine(1250, "are you")]),
        "bob": (write_wav(folder / "bob.wav", 3.0, 330.0, rate=8_000), []),
    }
    async with OutputTail(bootstrap, topics.output) as capture:
        summaries = await asyncio.gather(
            *(publish_file(bootstrap, topics, path, name, texts=texts) for name, (path, texts) in calls.items())
        )
        await capture.until(sessions_complete(list(calls)), timeout_s=120)
    return {s.session_id: s for s in summaries}


@pytest.fixture(scope="session")
def archived(run_dir: Path, kafka_bootstrap: str, triton_server: TritonServer) -> Iterator[Archived]:
    prefix = unique_prefix("replay-archive")
    home = run_dir / "replay" / prefix
    stack = Stack(
        StackSettings(
            state_dir=home / "stack",
            cache_dir=CACHE_DIR,
            kafka=kafka_bootstrap,
            triton=triton_server.grpc_url,
            topic_prefix=prefix,
        )
    )
    stack.up(say=lambda _: None)
    archiver = ArchiverProcess(
        kafka_bootstrap, prefix, home / "archive", home / "audit" / "audit.key", log_path=home / "archiver.log"
    )
    try:
        archiver.start()
        summaries = asyncio.run(_stream(kafka_bootstrap, Topics(prefix), home))
        stack.down(say=lambda _: None)  # nothing more is produced: the archive can then hold the whole log
        asyncio.run(wait_synced(kafka_bootstrap, Topics(prefix), timeout_s=60))
    finally:
        archiver.stop()
        stack.down(say=lambda _: None)
    yield Archived(home / "archive", home / "audit" / "audit.key", kafka_bootstrap, prefix, summaries)
