"""Telephone audio of one Twilio stream, both ways.

In: base64 mu-law frames stamped with `media.timestamp` -> the jitter buffer (8 kHz timeline,
gaps filled with silence) -> G.711 decode -> 2x polyphase upsampling -> 16 kHz session audio.
Sample 0 of the session is media time 0 of the stream, so the session clock is Twilio's media
clock; a frame's place comes from its timestamp (`sequenceNumber` only breaks ties).

Out: a turn of 16 kHz model audio -> 2x decimation -> G.711 encode -> 20 ms frames, base64.
"""

from __future__ import annotations

import base64
import binascii

import numpy as np
import numpy.typing as npt

from streams.ingress import g711
from streams.ingress.errors import ProtocolError
from streams.ingress.jitter import JitterBuffer, JitterStats
from streams.ingress.resample import Downsampler, Upsampler

RATE = 8000
"""Sample rate of Twilio's audio/x-mulaw."""
FRAME_SAMPLES = 160
"""Samples in a 20 ms frame, the unit Twilio sends and the unit sent back."""
_MS = RATE // 1000


class InboundAudio:
    """The caller's side: timestamped mu-law frames in, 16 kHz int16 session audio out."""

    def __init__(self, jitter_frames: int, max_gap_ms: int, max_frame_samples: int) -> None:
        self._jitter = JitterBuffer(tolerance=FRAME_SAMPLES // 2, depth=jitter_frames, max_gap=max_gap_ms * _MS)
        self._up = Upsampler()
        self._max_frame = max_frame_samples

    @property
    def stats(self) -> JitterStats:
        """Reordering, late frames and gaps so far."""
        return self._jitter.stats

    def push(self, timestamp_ms: int, seq: int, payload_b64: str) -> npt.NDArray[np.int16]:
        """The 16 kHz audio this frame releases (often exactly its own, possibly none or more).

        ProtocolError for a payload that is not base64 or longer than `max_frame_samples`.
        """
        try:
            codes = base64.b64decode(payload_b64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ProtocolError(f"media message {seq}: payload is not base64 ({exc})") from exc
        if len(codes) > self._max_frame:
            raise ProtocolError(
                f"media message {seq}: expected at most {self._max_frame} mu-law bytes; got {len(codes)}"
            )
        if not codes:
            return np.zeros(0, dtype=np.int16)
        return self._convert(self._jitter.push(timestamp_ms * _MS, seq, g711.decode(codes)))

    def flush(self) -> npt.NDArray[np.int16]:
        """Everything still held, gaps filled; called once when the stream stops."""
        return self._convert(self._jitter.flush())

    def _convert(self, blocks: list[npt.NDArray[np.int16]]) -> npt.NDArray[np.int16]:
        if not blocks:
            return np.zeros(0, dtype=np.int16)
        return self._up.push(blocks[0] if len(blocks) == 1 else np.concatenate(blocks))


class OutboundAudio:
    """The model's side: turns of 16 kHz int16 PCM in, base64 20 ms mu-law frames out."""

    def __init__(self) -> None:
        self._down = Downsampler()

    def frames(self, pcm: bytes) -> list[str]:
        """Base64 payloads of the 20 ms frames of `pcm` (little-endian int16 at 16 kHz, even length)."""
        codes = g711.encode(self._down.push(np.frombuffer(pcm, dtype="<i2")))
        step = FRAME_SAMPLES
        return [base64.b64encode(codes[i : i + step]).decode() for i in range(0, len(codes), step)]

    def reset(self) -> None:
        """Forget the filter history; called after a clear, so no cut speech leaks into the next."""
        self._down.reset()
