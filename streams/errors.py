"""Exceptions of the streams package (media errors live in streams.media.errors, under the same root)."""

from __future__ import annotations

from schemas.errors import MicroturnError


class StreamsError(MicroturnError):
    """Root of every error `streams` raises (media and ingress errors included)."""


class OversizedEvent(StreamsError):
    """An event is larger than its topic's max.message.bytes; nothing of it was sent."""


class TopicMissing(StreamsError):
    """A topic the command reads or writes does not exist on the broker; `microturn up` creates them."""


class PublishError(StreamsError):
    """The broker did not acknowledge an event; the message says which and why."""


class SessionExists(StreamsError):
    """A new session was to be published under an id the log already holds; nothing was sent."""
