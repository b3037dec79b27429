"""Text input on the session clock: command-line text arguments and JSONL transcripts.

A text argument is ``SECONDS:TEXT`` (``"1.5:hello there"``); the first colon separates the time,
so the text itself may contain colons. A transcript is a JSON Lines file, one object a line::

    {"t": 1.5, "text": "hello there", "speaker": "caller"}
    {"start_ms": 2300, "text": "and then"}

Times are seconds (``t``) or milliseconds (``start_ms``), exactly one of the two per line.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from streams.media.errors import CannotOpen, TextFormatError

DEFAULT_SPEAKER = "caller"
"""Speaker of text that does not name one."""
MAX_TIME_MS = 24 * 3600 * 1000
"""Latest session time a text may have (the workers' longest session, MICROTURN_MAX_SESSION_MS's default)."""
MAX_TEXT_BYTES = 64 * 1024
"""Longest text of one line, in UTF-8 bytes (a TextEvent must fit its topic's record size)."""
MAX_SPEAKER_CHARS = 128
"""Longest speaker name."""


def _check_size(where: str, text: str, speaker: str) -> None:
    size = len(text.encode("utf-8", errors="surrogatepass"))
    if size > MAX_TEXT_BYTES:
        raise TextFormatError(f"{where}: expected a text of at most {MAX_TEXT_BYTES} bytes; got {size}")
    if len(speaker) > MAX_SPEAKER_CHARS:
        raise TextFormatError(
            f"{where}: expected a speaker of at most {MAX_SPEAKER_CHARS} characters; got {len(speaker)}"
        )


@dataclass(frozen=True)
class TextLine:
    """A piece of text at a point of the session clock."""

    time_ms: int
    """Session-clock time of the text in ms (>= 0); it belongs to turn time_ms // 200."""
    text: str
    """The text itself (never empty)."""
    speaker: str = DEFAULT_SPEAKER
    """Who wrote or said it."""


def parse_text_arg(arg: str) -> TextLine:
    """Parse ``SECONDS:TEXT`` into a TextLine; seconds may be fractional (rounded to the ms).

    Raises TextFormatError (a ValueError) naming what was wrong.
    """
    seconds, colon, text = arg.partition(":")
    if not colon:
        raise TextFormatError(f"expected SECONDS:TEXT (e.g. '1.5:hello'); got {arg!r}")
    try:
        value = Decimal(seconds.strip())
    except InvalidOperation:
        raise TextFormatError(f"expected SECONDS:TEXT with SECONDS a number; got {seconds!r} in {arg!r}") from None
    if not value.is_finite() or value < 0:
        raise TextFormatError(f"expected SECONDS >= 0 in SECONDS:TEXT; got {seconds[:40]!r} in {arg[:80]!r}")
    if value * 1000 > MAX_TIME_MS:
        raise TextFormatError(
            f"expected SECONDS <= {MAX_TIME_MS // 1000} (the longest session) in SECONDS:TEXT; "
            f"got {seconds[:40]!r} in {arg[:80]!r}"
        )
    if not text.strip():
        raise TextFormatError(f"expected some TEXT after the colon; got {arg[:80]!r}")
    _check_size(f"text {arg[:40]!r}", text, DEFAULT_SPEAKER)
    return TextLine(time_ms=int((value * 1000).to_integral_value()), text=text)


def read_transcript(path: str | os.PathLike[str]) -> list[TextLine]:
    """Read a JSONL transcript; return its lines sorted by time (stable for equal times).

    Blank lines are skipped. Raises CannotOpen when the file cannot be read and
    TextFormatError naming the file, the line number and what was wrong otherwise.
    """
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as handle:
            raw_lines = handle.read().splitlines()
    except UnicodeDecodeError as exc:
        line = _line_of_offset(path, exc.start)
        raise TextFormatError(f"transcript '{path}' line {line}: expected UTF-8 text") from exc
    except OSError as exc:
        raise CannotOpen(f"cannot open transcript '{path}': {exc.strerror}", path=path) from exc
    lines = [_parse_line(path, number, raw) for number, raw in enumerate(raw_lines, start=1) if raw.strip()]
    return sorted(lines, key=lambda line: line.time_ms)


def _parse_line(path: str, number: int, raw: str) -> TextLine:
    where = f"transcript '{path}' line {number}"
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise TextFormatError(f"{where}: expected a JSON object; got invalid JSON ({exc.msg})") from None
    if not isinstance(obj, dict):
        raise TextFormatError(f"{where}: expected a JSON object; got {type(obj).__name__}")
    has_t, has_ms = "t" in obj, "start_ms" in obj
    if has_t == has_ms:
        got = "both" if has_t else "neither"
        raise TextFormatError(f'{where}: expected exactly one of "t" or "start_ms"; got {got}')
    key = "t" if has_t else "start_ms"
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TextFormatError(f'{where}: expected "{key}" to be a number; got {value!r}')
    time_ms = round(Decimal(str(value)) * (1000 if has_t else 1))
    if value < 0:
        raise TextFormatError(f'{where}: expected "{key}" >= 0; got {value!r}')
    if time_ms > MAX_TIME_MS:
        raise TextFormatError(
            f'{where}: expected "{key}" at most {MAX_TIME_MS} ms (the longest session); got {value!r}'
        )
    text = obj.get("text")
    if not isinstance(text, str) or not text.strip():
        raise TextFormatError(f'{where}: expected "text" to be a non-empty string; got {text!r}')
    speaker = obj.get("speaker", DEFAULT_SPEAKER)
    if not isinstance(speaker, str) or not speaker:
        raise TextFormatError(f'{where}: expected "speaker" to be a non-empty string; got {speaker!r}')
    _check_size(where, text, speaker)
    return TextLine(time_ms=time_ms, text=text, speaker=speaker)


def _line_of_offset(path: str, offset: int) -> int:
    with open(path, "rb") as handle:
        return handle.read(offset).count(b"\n") + 1
