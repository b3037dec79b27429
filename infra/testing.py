"""Running a real archiver process from tests and scripts: start, SIGKILL, stop, by pid.

with ArchiverProcess(bootstrap, prefix, archive_dir, key_path, log_path=log) as archiver:
    ...                      # stream sessions
    archiver.kill()          # SIGKILL: no chance to commit what it buffered
    archiver.start()         # resumes from the checkpoint
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from pathlib import Path
from types import TracebackType

from infra import process
from processors.archiver.checkpoint import STATE_DIR

MARKER = "processors.archiver"
"""What the archiver's command line contains (`python -m processors.archiver`)."""


class ArchiverProcess:
    """One `python -m processors.archiver` process at a time, for one archive root."""

    def __init__(
        self,
        bootstrap: str,
        prefix: str,
        archive_dir: Path,
        key_path: Path,
        *,
        log_path: Path,
        roll_age_s: float = 0.3,
        roll_bytes: int = 64 * 1024 * 1024,
        env: dict[str, str] | None = None,
    ) -> None:
        self.archive_dir = archive_dir
        self.log_path = log_path
        self.pid: int | None = None
        self._env = {
            **os.environ,
            "MICROTURN_KAFKA": bootstrap,
            "MICROTURN_TOPIC_PREFIX": prefix,
            "MICROTURN_ARCHIVE_DIR": str(archive_dir),
            "MICROTURN_AUDIT_KEY": str(key_path),
            "MICROTURN_ARCHIVE_ROLL_AGE_S": str(roll_age_s),
            "MICROTURN_ARCHIVE_ROLL_BYTES": str(roll_bytes),
            "MICROTURN_LOG_LEVEL": "info",
            **(env or {}),
        }

    def start(self, fault: str = "", timeout_s: float = 60.0) -> int:
        """Start the archiver and wait until it consumes.

        With a test `fault` (see settings.FAULTS) it returns at once: the archiver kills itself at
        that point of its first epoch commit; `wait_exit()` waits for that.
        """
        ready = self.archive_dir / STATE_DIR / "ready"
        env = {**self._env, "MICROTURN_ARCHIVER_FAULT": fault}
        pid = self.pid = process.spawn([sys.executable, "-m", MARKER], self.log_path, env=env)
        if fault:
            return pid

        def consuming() -> bool:
            try:
                return ready.read_text() == str(pid)
            except OSError:
                return False

        process.wait_until(consuming, "archiver", timeout_s, self.log_path, pid)
        return pid

    def wait_exit(self, timeout_s: float = 60.0) -> None:
        """Wait until the process has exited on its own (e.g. after an injected fault)."""
        deadline = time.monotonic() + timeout_s
        while not _reaped(self.pid):
            if time.monotonic() > deadline:
                raise TimeoutError(f"archiver {self.pid} still runs after {timeout_s:.0f}s; log: {self.log_path}")
            time.sleep(0.05)
        self.pid = None

    def kill(self) -> None:
        """SIGKILL the archiver: whatever it buffered or was writing is lost, as in a crash."""
        if self.pid is not None and process.is_alive(self.pid, MARKER):
            os.kill(self.pid, signal.SIGKILL)
            _reaped_wait(self.pid)
        self.pid = None

    def stop(self) -> None:
        """SIGTERM: the archiver commits what it buffered and exits."""
        process.stop(self.pid, MARKER, grace_s=30.0)
        if self.pid is not None:
            _reaped(self.pid)
        self.pid = None

    def __enter__(self) -> ArchiverProcess:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _reaped(pid: int | None) -> bool:
    if pid is None:
        return True
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return done == pid


def _reaped_wait(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)
