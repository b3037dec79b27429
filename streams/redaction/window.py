"""A sensitive window: a stretch of the session clock whose caller audio and keys are not stored.

Opened by a control message (`serve ws`) or a DTMF key (Twilio), closed by another or when
`timeout_ms` of session clock passed since it opened. Time is always the session clock (ms of audio
received), never the wall clock, so what is masked is decided by the media alone.
"""

from __future__ import annotations


class SensitiveWindow:
    """Whether caller input is sensitive now; counts the windows opened."""

    def __init__(self, timeout_ms: int) -> None:
        self.timeout_ms = timeout_ms
        self._opened_at: int | None = None
        self.opened = 0
        """Windows opened so far."""

    def open(self, now_ms: int) -> None:
        """Open a window at `now_ms` (an open one is extended: its timeout counts from now)."""
        if self._opened_at is None:
            self.opened += 1
        self._opened_at = now_ms

    def close(self) -> bool:
        """Close the window; whether one was open."""
        was_open = self._opened_at is not None
        self._opened_at = None
        return was_open

    def active(self, now_ms: int) -> bool:
        """Whether the window is open at `now_ms`; one past its timeout is closed first."""
        if self._opened_at is not None and now_ms - self._opened_at >= self.timeout_ms:
            self._opened_at = None
        return self._opened_at is not None
