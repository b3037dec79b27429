"""Exceptions of the inference package.

Behaviour lives on the classes: the client's retry loop reads `retriable`, the interaction
processor catches `SequenceLost` to rebuild a session from its recorded turns.
"""

from __future__ import annotations

from schemas.errors import MicroturnError


class InferenceError(MicroturnError):
    """Root of every error raised by `inference`."""

    retriable = False
    """Whether trying the same request again may succeed."""


class SequenceLost(InferenceError):
    """The server has no state for this session (restarted, evicted or never started).

    Never retried as is: the caller rebuilds the state by re-sending the session's recorded turns
    from turn 0 with START, then goes on.
    """

    code = "SEQUENCE_LOST"


class Overloaded(InferenceError):
    """The server refused a new session (session limit) or is shedding load; retry later."""

    retriable = True
    code = "OVERLOADED"


class OutOfOrder(InferenceError):
    """A turn arrived that is not the next one the server expects for this session."""

    code = "OUT_OF_ORDER"


class BadRequest(InferenceError):
    """The request does not match the model contract (shape, dtype, missing input)."""

    code = "BAD_REQUEST"


class ModelFailed(InferenceError):
    """The model itself failed on a well-formed request (a bug or a crash inside the model, or an
    error the server reports without a known code). Not the caller's fault, and not retried: the
    same turn would fail the same way."""

    code = "MODEL_FAILED"


class Unavailable(InferenceError):
    """The server could not be reached; nothing ran, so the same request may be sent again."""

    retriable = True


class TimedOut(InferenceError):
    """No answer in time. The server may still have run the turn, so it is not retried as is:
    the caller treats the session like a lost sequence and rebuilds it."""


def error_message(error: type[InferenceError], detail: str) -> str:
    """The message a server-side error carries: its code first, so the client can classify it."""
    return f"{error.code}: {detail}"  # type: ignore[attr-defined]


SERVER_ERRORS: tuple[type[InferenceError], ...] = (SequenceLost, Overloaded, OutOfOrder, BadRequest, ModelFailed)
"""The errors the model writes, each as `error_message(cls, ...)`: `f"{cls.code}: ..."`."""
