"""The root of every microturn exception, the one `ConfigError`, and the schemas package's errors.

`MicroturnError` lives here because `schemas` is the one package every other one may import
(`inference/network` imports nothing of ours but this module). Every package root derives from it,
so the command line catches one class; behaviour lives on the classes (`exit_code`), never in
message matching.
"""

from __future__ import annotations


class MicroturnError(Exception):
    """Root of every error microturn raises on purpose; foreign errors are wrapped in one."""

    exit_code: int = 1
    """The command line's exit status when this error ends a command (1: failed, 2: bad input)."""


class ConfigError(MicroturnError):
    """A setting is missing or invalid; raised once, at start-up, naming the setting and how to fix it."""

    exit_code = 2


class SchemaError(MicroturnError):
    """Root of every error raised by `schemas`."""


class DecodeError(SchemaError):
    """Bytes off the wire are not a valid microturn event.

    The message names what was expected and what arrived; the consumer that hit it sends the raw
    record to the dead-letter topic with this message as the reason and goes on.
    """


class ArrowMappingError(SchemaError):
    """An event field has a type with no Arrow mapping; the message names the field."""


class InvalidSessionId(SchemaError, ValueError):
    """A session id does not have the allowed form (`schemas.ids.SESSION_ID_PATTERN`): bad input, exit 2."""

    exit_code = 2


class PayloadError(DecodeError):
    """An encrypted payload does not open: altered, moved to another event or session, or the wrong key.

    A DecodeError: a worker dead-letters the record with this message and goes on.
    """


class SessionErased(DecodeError):
    """The session's data key was erased (`microturn erase`, or the key store's retention): its
    payloads cannot be read by anyone. Exit code 8 when it ends a command."""

    exit_code = 8
