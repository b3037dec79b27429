"""What goes into and comes out of one micro-turn of one session.

`TurnInput` checks everything it can check without a config when it is built, so a bad request
fails at the door with an `InputError` naming the field; `InteractionNetwork.step` only adds the
checks that concern sessions and states.
"""

from __future__ import annotations

import enum
import numbers
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from inference.network.config import TURN_SAMPLES
from inference.network.errors import InputError

MAX_FRAME_SIDE = 2048
"""Largest video frame side accepted, in pixels; anything larger is refused, not resized."""


class Action(enum.IntEnum):
    """What the model does during a micro-turn."""

    LISTEN = 0
    """Stay silent and keep listening; no text, silent audio."""
    SPEAK = 1
    """Take or hold the floor: text bytes and 200 ms of speech."""
    BACKCHANNEL = 2
    """A short acknowledgement ("mm-hm") while the user keeps the floor: text and speech."""
    DELEGATE = 3
    """Hand a task to the background agent: `delegate` bytes, silent audio."""


@dataclass(frozen=True)
class TurnInput:
    """The exact model input of micro-turn `turn` of one session (one `MicroTurn` event)."""

    session_key: str
    """Session identifier; seeds the turn's sampling generator and binds the `SessionState`."""
    turn: int
    """Turn index k >= 0; the turn covers [200k, 200k + 200) ms of session time."""
    audio: npt.NDArray[np.int16] | None
    """int16 [3200] mono 16 kHz samples of the turn, or None when the session has no audio."""
    video: npt.NDArray[np.uint8] | None
    """uint8 [H, W, 3] RGB frame sampled at the turn boundary, or None. Any size up to
    `MAX_FRAME_SIDE` a side; the model resizes it to its input size (`vision.fit_frame`)."""
    text: bytes = b""
    """UTF-8 text that arrived during the turn (truncated to `max_text_bytes` by the model)."""
    background: bytes = b""
    """UTF-8 background-agent results that re-entered during the turn (truncated likewise)."""

    def __post_init__(self) -> None:
        if not isinstance(self.session_key, str):
            raise InputError(f"TurnInput.session_key: expected str, got {type(self.session_key).__name__}")
        if isinstance(self.turn, bool) or not isinstance(self.turn, numbers.Integral) or self.turn < 0:
            raise InputError(f"TurnInput.turn: expected an int >= 0, got {self.turn!r}")
        object.__setattr__(self, "turn", int(self.turn))
        if self.audio is not None:
            _check_array(
                "audio",
                self.audio,
                np.int16,
                "int16 [3200]",
                self.audio.shape == (TURN_SAMPLES,) if isinstance(self.audio, np.ndarray) else False,
            )
        if self.video is not None:
            ok = (
                isinstance(self.video, np.ndarray)
                and self.video.ndim == 3
                and self.video.shape[2] == 3
                and 1 <= self.video.shape[0] <= MAX_FRAME_SIDE
                and 1 <= self.video.shape[1] <= MAX_FRAME_SIDE
            )
            _check_array("video", self.video, np.uint8, f"uint8 [H, W, 3] with 1 <= H, W <= {MAX_FRAME_SIDE}", ok)
        for field in ("text", "background"):
            value = getattr(self, field)
            if isinstance(value, bytearray | memoryview):
                object.__setattr__(self, field, bytes(value))
            elif not isinstance(value, bytes):
                raise InputError(f"TurnInput.{field}: expected UTF-8 bytes, got {type(value).__name__}")


def _check_array(field: str, value: object, dtype: type, expected: str, shape_ok: bool) -> None:
    if not isinstance(value, np.ndarray):
        raise InputError(f"TurnInput.{field}: expected a numpy {expected} array or None, got {type(value).__name__}")
    if value.dtype != dtype or not shape_ok:
        raise InputError(f"TurnInput.{field}: expected {expected}, got {value.dtype} {list(value.shape)}")


@dataclass(frozen=True, eq=False)
class TurnOutput:
    """What the model produced for one micro-turn of one session (one `ModelOutput` event).

    Two outputs are equal when every field is identical, audio sample for sample.
    """

    action: Action
    """The decision of the turn."""
    text: bytes
    """Text bytes spoken this turn (SPEAK/BACKCHANNEL), else empty. Not necessarily valid UTF-8 on
    its own: a character may continue in the next turn's bytes."""
    audio: npt.NDArray[np.int16]
    """int16 [3200] speech of the turn; all zeros unless SPEAK or BACKCHANNEL."""
    delegate: bytes
    """Task text handed to the background agent (DELEGATE), else empty."""

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TurnOutput):
            return NotImplemented
        return (
            self.action == other.action
            and self.text == other.text
            and self.delegate == other.delegate
            and np.array_equal(self.audio, other.audio)
            and self.audio.dtype == other.audio.dtype
        )

    __hash__ = None  # type: ignore[assignment]  # holds an array; equality is by value
