"""Exceptions of the streams package (media errors live in streams.media.errors)."""

from __future__ import annotations


class StreamsError(Exception):
    """Root of the errors `streams` raises outside media decoding."""


class OversizedEvent(StreamsError):
    """An event is larger than its topic's max.message.bytes; nothing of it was sent."""


class PublishError(StreamsError):
    """The broker did not acknowledge an event; the message says which and why."""


class SessionExists(StreamsError):
    """A new session was to be published under an id the log already holds; nothing was sent."""
