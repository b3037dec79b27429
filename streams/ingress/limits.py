"""How fast and how long one call may send audio: real time plus a small burst, up to a cap.

A caller produces audio in real time; a peer that sends faster (120 s of audio in one burst) is
not a call but a flood, and would make the pipeline do minutes of work at once. `AudioLimit` is
checked before a message's audio is published: the session clock after it may be at most
`burst_ms` ahead of the time elapsed since the call started, and at most `max_call_ms` long. A
network stall followed by catch-up stays within real time, so it passes.

The clock is injected (`time.monotonic` by default) so tests control it; it only ever refuses a
call, it never decides a model input.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from streams.ingress.errors import CallTooLong, TooFast


class AudioLimit:
    """The pace and length limits of one call's audio."""

    def __init__(self, burst_ms: int, max_call_ms: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._burst_ms = burst_ms
        self._max_call_ms = max_call_ms
        self._clock = clock
        self._started = clock()

    def check(self, clock_ms: int) -> None:
        """Called before audio that would bring the session clock to `clock_ms` is published.

        Raises TooFast when that is more than `burst_ms` ahead of real time since the call
        started, CallTooLong when it is beyond `max_call_ms`.
        """
        if clock_ms > self._max_call_ms:
            raise CallTooLong(f"the call reached the longest call taken ({self._max_call_ms / 1000:g} s of audio)")
        elapsed_ms = (self._clock() - self._started) * 1000
        if clock_ms > elapsed_ms + self._burst_ms:
            raise TooFast(
                f"audio faster than real time: {clock_ms / 1000:.1f} s of audio after {elapsed_ms / 1000:.1f} s "
                f"(at most {self._burst_ms} ms ahead is taken)"
            )
