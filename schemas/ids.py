"""The one rule for session ids, and how untrusted text is shown to a human.

A session id is 1 to 128 characters from ``[A-Za-z0-9._:-]``: safe in a Kafka key, a file or
folder name, a SQL literal, a URL and a terminal. Everything that accepts an id from outside (the
CLI, the ingress, the workers' decoders) checks it with `check_session_id`.
"""

from __future__ import annotations

import re

from schemas.errors import InvalidSessionId

SESSION_ID_PATTERN = r"[A-Za-z0-9._:-]{1,128}"
"""The allowed form of a session id."""
_SESSION_ID = re.compile(SESSION_ID_PATTERN)
_BIDI = r"\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(rf"[\x00-\x1f\x7f-\x9f{_BIDI}]")
_CONTROL_BUT_NEWLINE = re.compile(rf"[\x00-\x09\x0b-\x1f\x7f-\x9f{_BIDI}]")


def is_session_id(value: object) -> bool:
    """Whether `value` is a string of the allowed form."""
    return isinstance(value, str) and _SESSION_ID.fullmatch(value) is not None


def check_session_id(value: object) -> str:
    """`value` if it is a valid session id; raises InvalidSessionId naming the rule otherwise."""
    if is_session_id(value):
        return value  # type: ignore[return-value]  # is_session_id checked it is a str
    raise InvalidSessionId(
        f"expected a session id of 1-128 characters from [A-Za-z0-9._:-]; got {shown(value, limit=80)}"
    )


def escape_controls(text: str, keep_newlines: bool = False) -> str:
    """`text` with control characters (terminal escapes, newlines unless kept) shown as \\xNN escapes."""
    pattern = _CONTROL_BUT_NEWLINE if keep_newlines else _CONTROL
    return pattern.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 256 else f"\\u{code:04x}"


def shown(value: object, limit: int = 200) -> str:
    """A short, printable repr of an untrusted value for error messages."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}… ({len(text)} characters)"
