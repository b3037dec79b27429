"""Exceptions of the schemas package."""

from __future__ import annotations


class SchemaError(Exception):
    """Root of every error raised by `schemas`."""


class DecodeError(SchemaError):
    """Bytes off the wire are not a valid microturn event.

    The message names what was expected and what arrived; the consumer that hit it sends the raw
    record to the dead-letter topic with this message as the reason and goes on.
    """


class ArrowMappingError(SchemaError):
    """An event field has a type with no Arrow mapping; the message names the field."""


class InvalidSessionId(SchemaError, ValueError):
    """A session id does not have the allowed form (`schemas.ids.SESSION_ID_PATTERN`)."""
