"""`python -m processors`: run one faust worker with settings from the environment.

The worker writes `<state dir>/ready` once faust reports it fully started (partitions assigned);
`microturn up` waits for that file. Session state is rebuilt from the log per partition when the
partition's first record arrives (`processors.recovery`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os

import faust
import mode.loop
import structlog

from processors.app import create_app
from processors.errors import ConfigError
from processors.logs import configure, route_stdlib
from processors.settings import WorkerSettings
from schemas import Topics
from streams import metrics, tracing
from streams.errors import TopicMissing
from streams.log import partition_count
from streams.vault import configure as configure_vault


class Worker(faust.Worker):  # type: ignore[misc]
    """A faust worker that signals readiness with a file."""

    ready_file: str = ""

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        # faust's terminal spinner sets the root logger to DEBUG so that it spins on every record:
        # every debug record of faust and aiokafka would then be built (7.8% of a worker's CPU at
        # 20 calls, docs/performance.md). No spinner: the root logger keeps the worker's level.
        self.spinner = None
        super().on_setup_root_logger(logger, level)
        route_stdlib(level)  # faust's records through our renderer, not its colored handlers

    async def on_startup_finished(self) -> None:
        await super().on_startup_finished()
        with open(self.ready_file, "w") as out:
            out.write(str(os.getpid()))


def main() -> None:
    mode.loop.use("uvloop")  # a worker's time goes to its event loop's socket work (docs/performance.md)
    configure()
    settings = WorkerSettings.from_env()
    try:  # the broker's partition count, once: every session -> partition mapping uses it
        configure_vault()  # payload encryption: the master key is checked now, not at the first event
        count = asyncio.run(partition_count(settings.kafka, settings.topics))
    except (ConfigError, TopicMissing) as exc:
        structlog.get_logger(__name__).error("worker_refuses_to_start", error=str(exc))
        raise SystemExit(2) from exc
    settings = dataclasses.replace(settings, topics=Topics(settings.topics.prefix, count))
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    metrics.serve_metrics()
    tracing.setup("worker")
    structlog.get_logger(__name__).info(
        "worker_starting",
        kafka=settings.kafka,
        triton=settings.triton,
        topic_prefix=settings.topics.prefix,
        partitions=settings.topics.partitions,
    )
    worker = Worker(create_app(settings), loglevel="warning", redirect_stdouts=False)
    worker.ready_file = str(settings.state_dir / "ready")
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
