"""Twilio's media buffer as a caller hears it, for the phone-less caller (`place_call`)."""

from __future__ import annotations

import base64
from collections import deque

import numpy as np
import numpy.typing as npt

from streams.ingress import g711
from streams.ingress.playback import mark_turn
from streams.ingress.twilio.audio import FRAME_SAMPLES
from streams.ingress.twilio.result import CallResult


class MediaBuffer:
    """Twilio's playback buffer, simulated: frames and marks in, one frame played per 20 ms tick.

    Marks wait in line behind the audio sent before them and are "reached" (to be echoed) when
    that audio has played; `clear` drops the queued audio and reaches its marks at once. Frames
    received between two marks are one model turn's audio: the arrival time of the first of them
    is filed under the turn of the mark that follows (`CallResult.first_frame_ns`).
    """

    def __init__(self, result: CallResult) -> None:
        self._result = result
        self._queue: deque[npt.NDArray[np.int16] | str] = deque()  # frames and mark names, in order
        self._pending_batch_ns: int | None = None

    def frame(self, payload: str, now_ns: int) -> None:
        self._result.frames_received += 1
        if self._pending_batch_ns is None:
            self._pending_batch_ns = now_ns
        self._queue.append(g711.decode(base64.b64decode(payload)))

    def mark(self, name: str) -> list[str]:
        """Queue the mark; the marks to echo now (when nothing is queued before it)."""
        turn = mark_turn(name)
        if turn is not None and self._pending_batch_ns is not None:
            self._result.first_frame_ns.setdefault(turn, self._pending_batch_ns)
        self._pending_batch_ns = None
        self._queue.append(name)
        return self._leading_marks()

    def clear(self) -> list[str]:
        """Drop every queued frame; the marks among them are echoed, as Twilio does."""
        self._result.clears += 1
        marks = [item for item in self._queue if isinstance(item, str)]
        self._result.marks.extend(marks)
        self._result.cleared_frames += sum(1 for item in self._queue if not isinstance(item, str))
        self._queue.clear()
        self._pending_batch_ns = None
        return marks

    def tick(self) -> list[str]:
        """Play one 20 ms frame (or silence); the marks it reached."""
        echo = self._leading_marks()
        frame = self._queue.popleft() if self._queue else None
        if isinstance(frame, np.ndarray):  # _leading_marks took every mark before it
            self._result.heard.append(frame)
        else:
            self._result.heard.append(np.zeros(FRAME_SAMPLES, dtype=np.int16))
        return echo + self._leading_marks()

    def drain(self) -> None:
        """Play out what is still queued, at once (the call is over; the WAV gets the rest)."""
        while self._queue:
            self.tick()

    def _leading_marks(self) -> list[str]:
        out = []
        while self._queue and isinstance(self._queue[0], str):
            out.append(str(self._queue.popleft()))
        self._result.marks.extend(out)
        return out
