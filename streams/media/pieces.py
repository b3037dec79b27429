"""The session clock and the items that `MediaSource.pieces()` yields on it.

The session clock counts milliseconds of media from the session's start, derived from samples,
never from the wall clock. Turn k covers ``[TURN_MS * k, TURN_MS * k + TURN_MS)`` ms, which is
exactly audio samples ``[CHUNK_SAMPLES * k, CHUNK_SAMPLES * (k + 1))`` at `SAMPLE_RATE`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from schemas.clock import SAMPLE_RATE, TURN_MS
from schemas.clock import TURN_SAMPLES as CHUNK_SAMPLES

__all__ = ["CHUNK_SAMPLES", "SAMPLE_RATE", "TURN_MS", "AudioPiece", "VideoPiece", "turn_start_ms"]


def turn_start_ms(turn: int) -> int:
    """Session-clock time at which turn `turn` starts."""
    return turn * TURN_MS


@dataclass(frozen=True, eq=False)
class AudioPiece:
    """Exactly the audio of one turn: 3200 samples of 16 kHz mono signed 16-bit PCM.

    Only the final piece of a stream can be padded; it then has ``padded`` and ``last`` set.

    Equality is identity (the payload is an array); compare `samples` with numpy.
    """

    turn: int
    """The turn this audio belongs to; it starts at ``turn * TURN_MS`` on the session clock."""
    samples: npt.NDArray[np.int16] = field(repr=False)
    """int16 array of shape (CHUNK_SAMPLES,), read-only; silence after `valid_samples`."""
    valid_samples: int
    """How many leading samples are real audio (CHUNK_SAMPLES except on a padded last piece)."""
    padded: bool
    """True when the piece holds fewer than CHUNK_SAMPLES real samples, silence after them."""
    last: bool = False
    """True on the stream's final audio piece (padded or not)."""

    @property
    def start_ms(self) -> int:
        """Session-clock start of this piece's turn, in ms."""
        return turn_start_ms(self.turn)

    def pcm_bytes(self) -> bytes:
        """The 6400 bytes of little-endian int16 PCM, as `AudioChunk.samples` carries them."""
        return self.samples.astype("<i2", copy=False).tobytes()


@dataclass(frozen=True)
class VideoPiece:
    """The video frame of one turn: the latest source frame at or before the turn's start.

    When no source frame is at or before the turn's start yet (video starting after audio), the
    first frame is used and `source_pts_ms` is later than the turn's start.
    """

    turn: int
    """The turn this frame belongs to."""
    jpeg: bytes = field(repr=False)
    """The frame resized to `width` x `height` RGB and JPEG-encoded (baseline, 4:2:0)."""
    width: int
    """Width of the encoded frame in pixels."""
    height: int
    """Height of the encoded frame in pixels."""
    source_pts_ms: int
    """Presentation time of the chosen source frame on the session clock, rounded down to ms."""

    @property
    def start_ms(self) -> int:
        """Session-clock start of this piece's turn, in ms."""
        return turn_start_ms(self.turn)


Piece = AudioPiece | VideoPiece
"""What `MediaSource.pieces()` yields."""
