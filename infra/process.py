"""Starting and stopping the servers microturn runs, by process id only."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from infra.errors import StartError


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


ROTATE_BYTES = 50 * 1024 * 1024
"""A process's output file larger than this when it is (re)started is moved to FILE.1 first."""


def spawn(argv: Sequence[str], log_path: Path, env: Mapping[str, str] | None = None, cwd: Path | None = None) -> int:
    """Start `argv` detached in its own session, stdout and stderr appended to `log_path`
    (rotated first when it outgrew ROTATE_BYTES: FILE -> FILE.1 -> FILE.2, two kept)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    rotate(log_path, ROTATE_BYTES)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
        )
    return proc.pid


def rotate(path: Path, max_bytes: int, backups: int = 2) -> bool:
    """Move `path` to `path`.1 (and older ones up to `backups`) if it is larger than `max_bytes`."""
    try:
        if path.stat().st_size <= max_bytes:
            return False
    except OSError:
        return False
    for index in range(backups - 1, 0, -1):
        older = path.with_name(f"{path.name}.{index}")
        if older.exists():
            older.replace(path.with_name(f"{path.name}.{index + 1}"))
    path.replace(path.with_name(f"{path.name}.1"))
    return True


def is_alive(pid: int | None, marker: str = "") -> bool:
    """Whether `pid` runs and its command line contains `marker` (guards against pid reuse)."""
    if not pid:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    if stat.rsplit(")", 1)[-1].split()[0] == "Z":  # a zombie has exited
        return False
    return marker.encode() in cmdline


def stop(pid: int | None, marker: str = "", grace_s: float = 15.0) -> bool:
    """SIGTERM `pid` (if it is still ours), SIGKILL after `grace_s`; True if it was running."""
    if pid is None or not is_alive(pid, marker):
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        _reap(pid)
        if not is_alive(pid, marker):
            return True
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    _reap(pid)
    return True


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def wait_until(
    check: Callable[[], bool], what: str, timeout_s: float, log_path: Path, pid: int, *more_logs: Path
) -> None:
    """Poll `check()` until it is true; StartError naming the logs (and their tails) if it dies or times out.

    On a timeout the process is stopped first: the caller records a pid only once it is ready.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not is_alive(pid):
            raise StartError(f"{what} exited during start-up; {_tails(log_path, *more_logs)}")
        if check():
            return
        time.sleep(0.25)
    stop(pid)  # never leave behind a process nobody recorded
    raise StartError(f"{what} was not ready after {timeout_s:.0f}s; {_tails(log_path, *more_logs)}")


def _tails(first: Path, *more: Path) -> str:
    """`see its log: PATH` and the last lines, for `first` and each of `more` that exists."""
    return "\n".join(f"see its log: {path}\n{tail(path)}" for path in [first, *(p for p in more if p.exists())])


def tail(path: Path, lines: int = 15) -> str:
    """The last lines of a log file, for error messages."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log yet)"
