"""Choosing one video frame per turn and encoding it as a small JPEG.

The frame of turn k is the latest decoded frame whose presentation time is at or before
``200 * k`` ms on the session clock (the turn's start). Only chosen frames are scaled and
encoded; a frame chosen by several turns (video slower than 5 fps) is encoded once.
"""

from __future__ import annotations

import math
from fractions import Fraction

import av
import numpy as np
import numpy.typing as npt
from av.video.reformatter import VideoReformatter

from streams.media.errors import NotMedia
from streams.media.pieces import TURN_MS, VideoPiece

DEFAULT_VIDEO_SIZE = 80
"""Default edge of the square frames handed to the model (two 40x40 patches per side)."""

_TURN_SECONDS = Fraction(TURN_MS, 1000)


class JpegEncoder:
    """Scales frames to `size` x `size` (aspect ratio not kept) and encodes them as JPEG."""

    def __init__(self, size: int = DEFAULT_VIDEO_SIZE) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= 4096:
            raise ValueError(f"video_size must be an int in [1, 4096]; got {size!r}")
        self.size = size
        """Width and height of every encoded frame."""
        self._context = av.CodecContext.create("mjpeg", "w")
        self._context.width = size  # type: ignore[attr-defined]  # a VideoCodecContext
        self._context.height = size  # type: ignore[attr-defined]
        self._context.pix_fmt = "yuvj420p"  # type: ignore[attr-defined]
        self._context.time_base = Fraction(1, 5)
        self._count = 0  # the encoder wants strictly increasing pts

    def encode(self, frame: av.VideoFrame) -> bytes:
        """One self-contained baseline JPEG of `frame`, scaled with area averaging."""
        small = frame.reformat(
            width=self.size,
            height=self.size,
            format="yuvj420p",
            interpolation="AREA",
            dst_color_range="JPEG",  # MJPEG refuses limited-range input
        )
        small.pts, small.time_base = self._count, self._context.time_base
        self._count += 1
        return b"".join(bytes(packet) for packet in self._context.encode(small))


def decode_jpeg(data: bytes) -> npt.NDArray[np.uint8]:
    """Decode a JPEG (as in `VideoPiece.jpeg`) to a uint8 array of shape (height, width, 3) RGB.

    Raises NotMedia when the bytes are not a decodable JPEG.
    """
    context = av.CodecContext.create("mjpeg", "r")
    try:
        frames = context.decode(av.Packet(data)) + context.decode(None)
    except av.FFmpegError as exc:
        raise NotMedia(f"expected JPEG bytes; got {len(data)} undecodable bytes") from exc
    if not frames:
        raise NotMedia(f"expected JPEG bytes; got {len(data)} bytes holding no image")
    rgb = _TO_RGB.reformat(frames[0], format="rgb24")  # type: ignore[arg-type]
    return np.asarray(rgb.to_ndarray(), dtype=np.uint8)


_TO_RGB = VideoReformatter()
"""One converter for every decoded frame: building a new one per frame cost ~0.8 ms of each turn."""


class FrameSampler:
    """Picks the frame of each turn from decoded frames pushed in presentation order.

    `push` returns the pieces of the turns that became decided (a turn is decided once a frame
    later than its start arrives). At the end of the video stream call `finish`; afterwards
    `pieces_until` repeats the last frame for turns that audio still has (video shorter than
    audio). For video-only input `finish` also closes the video's own timeline:
    ``ceil(video end / 200 ms)`` turns, where the end is the last frame's time plus its duration.
    """

    def __init__(self, encoder: JpegEncoder, origin: Fraction, frame_period: Fraction) -> None:
        self._encoder = encoder
        self._origin = origin
        self._period = frame_period if frame_period > 0 else Fraction(1, 25)
        self._current: tuple[av.VideoFrame, Fraction] | None = None
        self._current_jpeg: bytes | None = None
        self._next_turn = 0
        self._start: Fraction | None = None
        self._end = Fraction(0)
        self.frames = 0
        """Frames pushed so far."""

    @property
    def span_seconds(self) -> Fraction:
        """How much video decoded: from the first frame's time to the end of the last frame."""
        return self._end - self._start if self._start is not None else Fraction(0)

    def push(self, frame: av.VideoFrame) -> list[VideoPiece]:
        """Take the next decoded frame; return pieces for the turns it decided."""
        if frame.pts is not None and frame.time_base is not None:
            time = frame.pts * frame.time_base - self._origin
        else:  # no timestamp: assume the nominal frame rate
            time = self._end if self.frames else Fraction(0)
        time_base = frame.time_base
        duration = frame.duration * time_base if frame.duration and time_base is not None else self._period
        pieces: list[VideoPiece] = []
        while time > self._next_turn * _TURN_SECONDS:
            if self._current is None:  # nothing at or before this turn yet: use the first frame
                self._take(frame, time)
            pieces.extend(self.pieces_until(self._next_turn + 1))
        self._take(frame, time)
        self._start = time if self._start is None else min(self._start, time)
        self._end = max(self._end, time + duration)
        self.frames += 1
        return pieces

    def finish(self, *, video_only: bool) -> list[VideoPiece]:
        """End of the video stream; for video-only input, return the timeline's remaining turns."""
        if not video_only:
            return []
        return self.pieces_until(math.ceil(self._end / _TURN_SECONDS))

    def pieces_until(self, turns: int) -> list[VideoPiece]:
        """Pieces for every undecided turn below `turns`, all showing the latest frame."""
        pieces: list[VideoPiece] = []
        if self._current is None:
            return pieces
        frame, time = self._current
        while self._next_turn < turns:
            if self._current_jpeg is None:
                self._current_jpeg = self._encoder.encode(frame)
            pieces.append(
                VideoPiece(
                    turn=self._next_turn,
                    jpeg=self._current_jpeg,
                    width=self._encoder.size,
                    height=self._encoder.size,
                    source_pts_ms=math.floor(time * 1000),
                )
            )
            self._next_turn += 1
        return pieces

    def _take(self, frame: av.VideoFrame, time: Fraction) -> None:
        if self._current is None or self._current[0] is not frame:
            self._current, self._current_jpeg = (frame, time), None
