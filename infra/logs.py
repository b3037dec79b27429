"""structlog set-up, done once per process at start-up.

Every line goes through the same chain: context variables, level, timestamp, the exception's
traceback (a `log.exception(...)` line carries it under `exception`), then `redact_secrets`,
then the renderer. Redaction runs last before rendering, so nothing bound or formatted earlier
(a request path, a header, a traceback) can carry a secret past it.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

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


def configure(level: str = "info", json: bool = False) -> None:
    """Route structlog (and stdlib logging) to stderr, as key=value lines or JSON."""
    structlog.configure(
        processors=processors(json),
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)


class _CurrentStderr:
    """Writes to whatever `sys.stderr` is now, not the one at configure() time (which a test
    runner or a daemonizing worker may have closed or replaced since)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()
