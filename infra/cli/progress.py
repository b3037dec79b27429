"""Progress on stderr for long work, drawn only when stderr is a terminal.

`progress("replaying s1")` shows a spinner with the elapsed time while the block runs and erases
it afterwards; `advance(n)` turns it into a bar when the total is known. Nothing is drawn when
stderr is not a TTY (a pipe, a file, a CI log), so scripts and --json output never see it.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

FRAMES = "|/-\\"
WIDTH = 30


class Progress:
    """One progress line, redrawn by a daemon thread every `interval_s` (never by the work itself)."""

    def __init__(
        self, label: str, total: int | None = None, out: TextIO | None = None, interval_s: float = 0.2
    ) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self._out = out if out is not None else sys.stderr
        self._interval_s = interval_s
        self._started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="progress", daemon=True)
        self._frame = 0

    def advance(self, n: int = 1) -> None:
        """Count `n` more units of work done (cheap: one addition)."""
        self.done += n

    def line(self) -> str:
        """The line as drawn now (exposed for tests)."""
        elapsed = time.monotonic() - self._started
        if self.total:
            filled = min(WIDTH, WIDTH * self.done // self.total)
            bar = "#" * filled + "-" * (WIDTH - filled)
            return f"{self.label} [{bar}] {self.done}/{self.total} {elapsed:.0f}s"
        self._frame += 1
        return f"{self.label} {FRAMES[self._frame % len(FRAMES)]} {elapsed:.0f}s"

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            self._draw(self.line())

    def _draw(self, text: str) -> None:
        self._out.write("\r\x1b[2K" + text)
        self._out.flush()

    def start(self) -> None:
        self._thread.start()

    def finish(self) -> None:
        self._stop.set()
        self._thread.join()
        self._draw("")


class _Silent(Progress):
    def start(self) -> None:
        pass

    def finish(self) -> None:
        pass


@contextmanager
def progress(label: str, total: int | None = None, out: TextIO | None = None) -> Iterator[Progress]:
    """A progress line on `out` (stderr) while the block runs, when `out` is a terminal; else silent."""
    stream = out if out is not None else sys.stderr
    bar = Progress(label, total, stream) if _is_tty(stream) else _Silent(label, total, stream)
    bar.start()
    try:
        yield bar
    finally:
        bar.finish()


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
