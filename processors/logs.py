"""structlog set-up, done once per process at start-up.

Every line goes through the same chain: context variables, level, timestamp, the exception's
traceback (a `log.exception(...)` line carries it under `exception`), then `redact_secrets`,
then the renderer. Redaction runs last before rendering, so nothing bound or formatted earlier
(a request path, a header, a traceback) can carry a secret past it. Records of other libraries
(faust, aiokafka) are rendered by the same renderer (structlog's ProcessorFormatter), without
terminal escapes. $MICROTURN_LOG_FORMAT=json gives JSON lines; $MICROTURN_LOG_FILE a size-rotated file.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import structlog

from schemas.errors import ConfigError

MASK = "***"
"""What a secret is replaced with."""

SECRET_KEYS = re.compile(r"token|secret|password|passwd|signature|authorization|api[_-]?key|credential", re.I)
"""Log fields whose whole value is a secret (e.g. `authorization=...`, `access_token=...`)."""

_QUERY_SECRET = re.compile(
    r"(?P<name>[A-Za-z0-9_.-]*(?:token|secret|password|passwd|signature|api[_-]?key|access[_-]?key)[A-Za-z0-9_.-]*)="
    r"(?P<value>[^&\s\"'#]+)",
    re.I,
)
_SCHEME_SECRET = re.compile(r"\b(?P<name>[Bb]earer|[Bb]asic)\s+(?P<value>[A-Za-z0-9._~+/=-]{8,})")
_HEADER_SECRET = re.compile(
    r"(?P<name>Authorization|X-Twilio-Signature|Proxy-Authorization|Cookie)(?P<sep>['\"]?\s*[:=,]\s*['\"]?)"
    r"(?P<value>(?:(?:Bearer|Basic|Digest)\s+)?[^\s'\",;]+)",
    re.I,
)


def redact(text: str) -> str:
    """`text` with secrets in query strings (`?access_token=...`), auth schemes (`Bearer ...`)
    and auth headers (`X-Twilio-Signature: ...`) replaced by MASK."""
    text = _QUERY_SECRET.sub(lambda m: f"{m['name']}={MASK}", text)
    text = _HEADER_SECRET.sub(lambda m: f"{m['name']}{m['sep']}{MASK}", text)
    return _SCHEME_SECRET.sub(lambda m: f"{m['name']} {MASK}", text)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, bytes):
        return redact(value.decode(errors="replace"))
    if isinstance(value, dict):
        return {k: MASK if isinstance(k, str) and SECRET_KEYS.search(k) else _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, int | float | bool) or value is None:
        return value
    return redact(str(value))


def redact_secrets(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: mask every secret in a log line (the field's value, or the secret part of a string).

    A field named like a secret (`token`, `authorization`, `signature`, ...) is masked whole;
    every other string (the event, paths, URLs, error messages, tracebacks) has its query-string
    secrets, auth-scheme credentials and auth-header values masked.
    """
    for key, value in event_dict.items():
        if SECRET_KEYS.search(key):
            event_dict[key] = MASK
        else:
            event_dict[key] = _clean(value)
    return event_dict


def processors(json: bool = False) -> list[structlog.types.Processor]:
    """The processor chain `configure` installs (exposed for tests)."""
    # logfmt, not structlog.dev's console renderer: same readability in a log file, and it does
    # not import rich on every command's start-up.
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.processors.LogfmtRenderer()
    )
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,  # exc_info=True (log.exception) -> the traceback as text
        redact_secrets,
        renderer,
    ]


FORMAT_ENV = "MICROTURN_LOG_FORMAT"
"""`json` for JSON lines, `logfmt` (the default) for key=value lines."""
FILE_ENV = "MICROTURN_LOG_FILE"
"""Write logs to this file, rotated by size, instead of stderr (`microturn up` sets it per process)."""
MAX_BYTES_ENV = "MICROTURN_LOG_MAX_BYTES"
BACKUPS_ENV = "MICROTURN_LOG_BACKUPS"


def configure(level: str = "info", json: bool | None = None, log_file: str | None = None) -> None:
    """Route structlog and stdlib logging (faust, aiokafka, ...) through one renderer.

    `json`: JSON lines, else logfmt; by default from $MICROTURN_LOG_FORMAT. `log_file`: a file rotated
    at $MICROTURN_LOG_MAX_BYTES (50 MB) keeping $MICROTURN_LOG_BACKUPS (5) old ones; by default
    $MICROTURN_LOG_FILE, and stderr when neither is given. Records of other libraries get the same
    level, timestamp, redaction and renderer, and never terminal escapes.
    """
    if json is None:
        json = _format_from_env()
    sink = _sink(log_file if log_file is not None else os.environ.get(FILE_ENV, ""))
    structlog.configure(
        processors=processors(json),
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sink),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sink)  # type: ignore[arg-type]
    handler.setFormatter(stdlib_formatter(json))
    _handlers["stdlib"] = handler
    route_stdlib(logging.WARNING)


_handlers: dict[str, logging.Handler] = {}
"""The one handler of the root logger, once `configure` ran."""


def stdlib_formatter(json: bool = False) -> logging.Formatter:
    """The formatter that renders a stdlib `LogRecord` like a structlog line (exposed for tests)."""
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.processors.LogfmtRenderer()
    )
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            _strip_escapes,
            redact_secrets,
            renderer,
        ],
    )


def route_stdlib(level: int) -> None:
    """Make the root logger's only handler the one `configure` built (faust installs its own
    colored handlers at start-up; its worker calls this again afterwards)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    if "stdlib" in _handlers:
        root.addHandler(_handlers["stdlib"])
    root.setLevel(level)


_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|[\x00-\x08\x0b-\x1f\x7f]")


def _strip_escapes(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Drop ANSI escape sequences and control characters (colors of other libraries' messages)."""
    for key, value in event_dict.items():
        if isinstance(value, str):
            event_dict[key] = _ESCAPES.sub("", value)
    return event_dict


def _format_from_env() -> bool:
    value = os.environ.get(FORMAT_ENV, "").strip().lower()
    if value not in ("", "logfmt", "json"):
        raise ConfigError(f"logs: {FORMAT_ENV} must be 'json' or 'logfmt'; got {value!r}")
    return value == "json"


def _positive_env(name: str, default: int) -> int:
    value = os.environ.get(name) or str(default)
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise ConfigError(f"logs: {name} must be a non-negative integer; got {value!r}")
    return number


def _sink(log_file: str) -> Any:
    if not log_file:
        return _CurrentStderr()
    return RotatingFile(Path(log_file), _positive_env(MAX_BYTES_ENV, 50 * 1024 * 1024), _positive_env(BACKUPS_ENV, 5))


class RotatingFile:
    """An append-only log file that rotates by size: FILE -> FILE.1 -> ... -> FILE.<backups>.

    Written by one process (each process `up` starts has its own); `write` and rotation share a
    lock, so structlog lines and stdlib records from any thread never interleave or get lost.
    `max_bytes` 0 never rotates.
    """

    def __init__(self, path: Path, max_bytes: int, backups: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.backups = backups
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115  # open for the process's life
        self._size = self._file.tell()

    def write(self, text: str) -> int:
        with self._lock:
            if self.max_bytes and self._size and self._size + len(text) > self.max_bytes:
                self._rotate()
            written = self._file.write(text)
            self._size += len(text.encode("utf-8", errors="replace"))
            return written

    def flush(self) -> None:
        with self._lock:
            self._file.flush()

    def _rotate(self) -> None:
        self._file.close()
        if self.backups:
            for index in range(self.backups - 1, 0, -1):
                older = self.path.with_name(f"{self.path.name}.{index}")
                if older.exists():
                    older.replace(self.path.with_name(f"{self.path.name}.{index + 1}"))
            self.path.replace(self.path.with_name(f"{self.path.name}.1"))
        else:
            self.path.unlink(missing_ok=True)
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
        self._size = 0


class _CurrentStderr:
    """Writes to whatever `sys.stderr` is now, not the one at configure() time (which a test
    runner or a daemonizing worker may have closed or replaced since)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()
