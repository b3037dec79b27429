"""What one phone-less call sent and heard (`place_call`'s result)."""

from __future__ import annotations

import wave
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from streams.ingress.twilio.audio import RATE

_FRAMES_PER_TURN = 10  # 200 ms turns of 20 ms frames


@dataclass
class CallResult:
    """What one call sent and what came back."""

    stream_sid: str
    """The stream (session) id used."""
    sent_ns: list[int] = field(default_factory=list)
    """Wall time at which caller frame i was sent (frame i holds media time [20 i, 20 i + 20) ms)."""
    heard: list[npt.NDArray[np.int16]] = field(default_factory=list)
    """8 kHz frames as played, one per 20 ms tick from the start of the call."""
    frames_received: int = 0
    """Model audio frames received."""
    marks: list[str] = field(default_factory=list)
    """Marks reached by playback or dropped by a clear, in order; echoed while the call is on."""
    first_frame_ns: dict[int, int] = field(default_factory=dict)
    """Turn -> wall time its first model audio frame arrived (from marks named `turn-<k>`)."""
    clears: int = 0
    """`clear` messages received."""
    cleared_frames: int = 0
    """Frames dropped unplayed by those clears."""
    server_closed: bool = False
    """True when the server ended the call; False when the caller gave up waiting (`linger_s`)."""
    close_code: int | None = None
    """Close code the server ended the call with (its echo of the caller's 1000 if the caller closed)."""
    close_reason: str = ""
    """Its reason text."""

    def heard_audio(self) -> npt.NDArray[np.int16]:
        """What the caller heard, as one 8 kHz int16 array."""
        return np.concatenate(self.heard) if self.heard else np.zeros(0, dtype=np.int16)

    def write_wav(self, path: Path) -> None:
        """Write what the caller heard as an 8 kHz mono 16-bit WAV."""
        with wave.open(str(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(RATE)
            out.writeframes(self.heard_audio().astype("<i2").tobytes())

    def mouth_to_ear_ms(self) -> list[float]:
        """Per answered turn k: last caller frame of turn k sent -> first model frame of k received."""
        out = []
        for turn, received in sorted(self.first_frame_ns.items()):
            last = (turn + 1) * _FRAMES_PER_TURN - 1
            if last < len(self.sent_ns):
                out.append((received - self.sent_ns[last]) / 1e6)
        return out
