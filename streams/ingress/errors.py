"""Exceptions of live ingress. One root, `IngressError`; behaviour lives on the classes.

A call's handler catches `CallRejected` subclasses, ends the session with the class's `reason`
and closes that one WebSocket with the class's `close_code`; the server and other calls go on.
"""

from __future__ import annotations

from schemas.errors import ConfigError
from schemas.events import EndReason
from streams.errors import StreamsError

__all__ = [
    "CallRejected",
    "CallTimeout",
    "ConfigError",
    "IngressClientError",
    "IngressError",
    "ProtocolError",
    "SessionInUse",
    "UnsupportedMedia",
]


class IngressError(StreamsError):
    """Root of the errors `streams.ingress` raises."""


class CallRejected(IngressError):
    """This call cannot go on; the session ends `reason` and the socket closes with `close_code`."""

    close_code = 1008
    """WebSocket close code sent to the peer (1008: policy violation)."""
    reason: EndReason = "aborted"
    """How the session ends (a SessionEnded reason)."""


class ProtocolError(CallRejected):
    """A message broke the protocol: not JSON, a missing or ill-typed field, an event out of order."""

    close_code = 1007  # invalid frame payload data


class UnsupportedMedia(CallRejected):
    """The stream's media format is not the one this server takes (e.g. not 8 kHz mu-law mono)."""

    close_code = 1003  # unsupported data


class SessionInUse(CallRejected):
    """Another live call on this server already has this session id; nothing is published."""

    close_code = 1008


class SessionRefused(CallRejected):
    """The peer asked for a session id of its choosing; ids are the server's to assign. Nothing is published."""

    close_code = 1008


class TooFast(CallRejected):
    """The peer sent audio faster than real time beyond the burst allowance; that audio is not published."""

    close_code = 1008


class CallTooLong(CallRejected):
    """The call reached the longest call the server takes (`max_call_s`); later audio is not published."""

    close_code = 1008


class CallTimeout(CallRejected):
    """The peer went quiet for longer than the server allows."""

    close_code = 1008


class IngressClientError(IngressError):
    """The demo client (`microturn call`) could not complete its call; the message says where."""
