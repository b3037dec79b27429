"""Exceptions of `replay.session`; all are `ReplayError`s, so the CLI reports them the same way."""

from __future__ import annotations

from replay.errors import ReplayError


class SessionNotFound(ReplayError):
    """The source holds nothing (or not enough) of the session to replay or export it."""


class SourceUnavailable(ReplayError):
    """The source itself cannot be read: no archive, no topics, a broker that does not answer."""


class WeightsUnavailable(ReplayError):
    """The recorded model version is not the one the available weights build.

    An exact replay is refused (its result would say nothing about the recording); the message
    names both versions and how to get the recorded weights or run a what-if replay instead.
    """


class IncompatibleModel(ReplayError):
    """The what-if network cannot take the recorded turns (another video size, a broken config)."""


class SessionErased(ReplayError):
    """The session's data key was erased (`microturn erase`): its audio, video and text are
    ciphertext nobody can open, so it cannot be replayed, exported or evaluated. Exit 8."""

    exit_code = 8


class PayloadUnreadable(ReplayError):
    """An encrypted payload of the session does not open: no key in reach, or altered ciphertext."""
