"""Putting a telephone stream's frames back on its media timeline.

Carriers stamp every frame with its media time (Twilio: `media.timestamp`, ms from the stream's
start) and a sequence number. Frames can arrive late, twice or out of order, and some never
arrive. `JitterBuffer` turns what arrived into one gap-free sample stream whose position *is* the
session clock: sample i of the output is media time i / rate, whatever the network did.

Rules, applied on every `push` (no clock is read, so the same arrivals give the same output):

- A frame whose start is within `tolerance` samples of the next expected sample is contiguous: it
  is released at once (no added latency when frames come in order) and placed exactly there, so
  small timestamp jitter neither opens gaps nor accumulates.
- A frame that starts later is held until the missing audio arrives or `depth` frames are waiting;
  then the gap is filled with silence (counted in `gap_samples`) and the frame released.
- A frame that starts before the next expected sample (minus `tolerance`) is too late: its slot
  was already released, so it is dropped and counted (`late`, or `duplicates` for a start seen
  before).
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from streams.ingress.errors import ProtocolError

_RECENT = 256


@dataclass
class JitterStats:
    """What the buffer did to a stream; reported in the session's SessionEnded detail and logs."""

    frames: int = 0
    """Frames accepted into the timeline."""
    reordered: int = 0
    """Frames that arrived after a frame with a later timestamp (and were still in time)."""
    late: int = 0
    """Frames dropped because their place on the timeline had already been released."""
    duplicates: int = 0
    """Frames dropped because a frame with the same timestamp was already taken."""
    gaps: int = 0
    """Holes in the timeline that were filled with silence."""
    gap_samples: int = 0
    """Samples of silence inserted for those holes."""

    def as_dict(self) -> dict[str, int]:
        return dict(vars(self))


@dataclass(order=True)
class _Held:
    start: int
    seq: int
    samples: npt.NDArray[np.int16] = field(compare=False)


class JitterBuffer:
    """Reorders timestamped frames of one stream and fills what is missing with silence."""

    def __init__(self, tolerance: int, depth: int, max_gap: int) -> None:
        """`tolerance` and `max_gap` in samples, `depth` in frames; checked once, here.

        `max_gap` bounds the silence one frame may ask for: a timestamp further ahead than that
        is a protocol error, not a reason to allocate minutes of zeros.
        """
        if tolerance < 0 or depth < 1 or max_gap < 0:
            raise ValueError(
                f"JitterBuffer needs tolerance >= 0, depth >= 1, max_gap >= 0; got {tolerance}, {depth}, {max_gap}"
            )
        self._tolerance = tolerance
        self._depth = depth
        self._max_gap = max_gap
        self._held: list[_Held] = []
        self._cursor = 0
        self._latest_start = -1
        self._starts: set[int] = set()  # starts held or recently released, for duplicate detection
        self._released: deque[int] = deque()
        self.stats = JitterStats()

    @property
    def position(self) -> int:
        """Samples released so far: the session clock of this stream, in samples."""
        return self._cursor

    def push(self, start: int, seq: int, samples: npt.NDArray[np.int16]) -> list[npt.NDArray[np.int16]]:
        """Add the frame at media sample `start` (`seq` breaks ties); return the blocks now released.

        Called for every frame as it arrives. Raises ProtocolError for a negative start or one
        more than `max_gap` samples ahead of the timeline.
        """
        if start < 0:
            raise ProtocolError(f"media frame {seq}: expected a timestamp >= 0; got sample {start}")
        if start - self._cursor > self._max_gap:
            raise ProtocolError(
                f"media frame {seq}: starts {start - self._cursor} samples after the timeline's end "
                f"(at most {self._max_gap} can be filled with silence)"
            )
        if start in self._starts:
            self.stats.duplicates += 1
            return []
        if start < self._cursor - self._tolerance:
            self.stats.late += 1
            return []
        if start < self._latest_start:
            self.stats.reordered += 1
        self._latest_start = max(self._latest_start, start)
        self._starts.add(start)
        heapq.heappush(self._held, _Held(start, seq, samples))
        return self._release(flush=False)

    def flush(self) -> list[npt.NDArray[np.int16]]:
        """Release everything held, filling the gaps; called once when the stream ends."""
        return self._release(flush=True)

    def _release(self, flush: bool) -> list[npt.NDArray[np.int16]]:
        out: list[npt.NDArray[np.int16]] = []
        while self._held:
            head = self._held[0]
            gap = head.start - self._cursor
            if gap > self._tolerance:
                if not flush and len(self._held) < self._depth:
                    break
                out.append(np.zeros(gap, dtype=np.int16))
                self.stats.gaps += 1
                self.stats.gap_samples += gap
                self._cursor += gap
            heapq.heappop(self._held)
            out.append(head.samples)
            self._cursor += len(head.samples)
            self.stats.frames += 1
            self._remember(head.start)
        return out

    def _remember(self, start: int) -> None:
        """Keep the last `_RECENT` released starts, so a re-sent frame counts as a duplicate."""
        self._released.append(start)
        if len(self._released) > _RECENT:
            self._starts.discard(self._released.popleft())
