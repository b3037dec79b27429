"""`python -m processors.archiver`: run one archiver with settings from the environment.

MICROTURN_KAFKA (required), MICROTURN_TOPIC_PREFIX, MICROTURN_ARCHIVE_DIR, MICROTURN_AUDIT_KEY
(or MICROTURN_KEYS_DIR), MICROTURN_ARCHIVE_ROLL_BYTES, MICROTURN_ARCHIVE_ROLL_AGE_S. SIGTERM or SIGINT commit what is
buffered and exit 0; the archiver writes `<archive>/_archiver/ready` (its pid) once it is consuming.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import structlog

from processors.archiver.archiver import Archiver
from processors.archiver.checkpoint import STATE_DIR
from processors.archiver.settings import ArchiverSettings
from processors.errors import ProcessorError
from processors.logs import configure
from schemas.errors import ConfigError
from streams import metrics
from streams.vault import configure as configure_vault

log = structlog.get_logger(__name__)


async def serve(settings: ArchiverSettings) -> None:
    """Run an archiver until SIGTERM/SIGINT, signalling readiness with a file."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    archiver = Archiver(settings)
    ready_file = settings.archive_dir / STATE_DIR / "ready"
    ready_file.unlink(missing_ok=True)
    task = asyncio.create_task(archiver.run(stop))
    lag = asyncio.create_task(_sample_lag(settings.group_id, archiver, stop))
    ready = asyncio.create_task(archiver.ready.wait())
    await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
    if archiver.ready.is_set():
        ready_file.write_text(str(os.getpid()))
        log.info("archiver_ready", archive=str(settings.archive_dir), group=settings.group_id)
    ready.cancel()
    try:
        await task
    finally:
        lag.cancel()
        ready_file.unlink(missing_ok=True)


async def _sample_lag(group: str, archiver: Archiver, stop: asyncio.Event) -> None:
    """Sample the consumer's lag for /metrics every few seconds (never per record)."""
    await archiver.ready.wait()
    while not stop.is_set():
        try:
            await metrics.sample_consumer_lag(group, archiver.consumer)
        except Exception:  # a metric must never stop the archiver
            log.debug("lag_sample_failed", exc_info=True)
        await asyncio.sleep(5.0)


def main() -> int:
    configure(os.environ.get("MICROTURN_LOG_LEVEL", "info"))
    try:
        configure_vault()  # the master key, when there is one: derived columns read audio energy
    except ConfigError as exc:
        print(f"archiver: {exc}", file=sys.stderr)
        return 2
    try:
        metrics.serve_metrics()
        asyncio.run(serve(ArchiverSettings.from_env()))
    except ProcessorError as exc:
        print(f"archiver: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
