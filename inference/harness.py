"""The harness baseline: a voice-activity detector plus a silence timeout, as voice-agent
frameworks build turn-taking, on the same Triton contract as the interaction model.

Per micro-turn of a session it decides LISTEN, BACKCHANNEL or SPEAK from its VAD alone:

- VAD: a 20 ms frame is speech when its RMS is above `vad_threshold_dbfs`; a turn holds caller
  speech when at least `min_speech_ms` of its frames are speech.
- Caller speech while the harness speaks: it yields at once (LISTEN, silent audio).
- Silence since the caller's last speech frame reaches `silence_timeout_ms` (default 700 ms) after
  caller speech: SPEAK, for `response_ms` of speech (text b"yes." on the first turn), unless the
  caller speaks again (yield).
- The first silent turn after at least `backchannel_after_ms` of caller speech since the last
  response or backchannel: BACKCHANNEL b"mhm" (one turn, soft).
- Typed TEXT: SPEAK b"ok."; a BACKGROUND result: SPEAK b"ok:" (each starts a response). The harness
  never delegates.

Its speech is a deterministic speech-like waveform (harmonics of 120 Hz under a 4 Hz syllable
envelope): only its timing means anything. Nothing here reads the wall clock or draws random
numbers, so a replay reproduces it bit for bit.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from inference.errors import BadRequest, error_message
from inference.network.turns import Action

SAMPLE_RATE = 16_000
TURN_MS = 200
TURN_SAMPLES = SAMPLE_RATE * TURN_MS // 1000
FRAME_MS = 20
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000
_SILENT = np.zeros(TURN_SAMPLES, dtype=np.int16)


@dataclass(frozen=True)
class HarnessSettings:
    """The harness's knobs (config.pbtxt parameters of the `harness` model, same names)."""

    silence_timeout_ms: int = 700
    """Silence after caller speech before the harness answers."""
    vad_threshold_dbfs: float = -42.0
    """A 20 ms frame is speech above this RMS level (full scale = 0 dBFS)."""
    min_speech_ms: int = 60
    """Speech frames a turn needs to count as caller speech."""
    backchannel_after_ms: int = 2400
    """Caller speech (since the last response or backchannel) before a pause earns a backchannel."""
    response_ms: int = 2000
    """How long one answer lasts when nobody interrupts it."""

    def __post_init__(self) -> None:
        for name in ("silence_timeout_ms", "min_speech_ms", "backchannel_after_ms", "response_ms"):
            value = getattr(self, name)
            if value < 0 or value % FRAME_MS:
                raise ValueError(f"HarnessSettings.{name}: expected a multiple of {FRAME_MS} ms >= 0; got {value}")
        if self.response_ms < TURN_MS:
            raise ValueError(f"HarnessSettings.response_ms: expected >= {TURN_MS}; got {self.response_ms}")

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> HarnessSettings:
        """Settings from config.pbtxt parameters (missing or empty keys keep their default)."""
        values: dict[str, float | int] = {}
        for name, kind in (
            ("silence_timeout_ms", int),
            ("vad_threshold_dbfs", float),
            ("min_speech_ms", int),
            ("backchannel_after_ms", int),
            ("response_ms", int),
        ):
            raw = params.get(name, "")
            if raw:
                try:
                    values[name] = kind(raw)
                except ValueError as exc:
                    raise ValueError(f"harness parameter {name}: expected a number; got {raw!r}") from exc
        return cls(**values)  # type: ignore[arg-type]

    @property
    def version(self) -> str:
        """Name and a digest of the settings, recorded as the outputs' model_version."""
        text = repr(sorted(self.__dict__.items())).encode()
        return f"harness-vad{self.silence_timeout_ms}-{hashlib.blake2b(text, digest_size=4).hexdigest()}"


@dataclass
class HarnessState:
    """One session's state (mutable, per correlation id)."""

    silence_ms: int = 0
    """Silence since the caller's last speech frame."""
    heard_ms: int = 0
    """Caller speech since the last response."""
    since_backchannel_ms: int = 0
    """Caller speech since the last backchannel or response."""
    speaking_left: int = 0
    """Turns of the current response still to speak."""


@dataclass(frozen=True)
class HarnessOutput:
    """The harness's answer to one micro-turn."""

    action: Action
    text: bytes
    audio: npt.NDArray[np.int16]
    """int16 [3200]: speech, or silence when not speaking."""


def speech_frames(audio: npt.NDArray[np.int16] | None, threshold_dbfs: float) -> npt.NDArray[np.bool_]:
    """Per 20 ms frame of a turn: whether its RMS is above `threshold_dbfs` (all False without audio)."""
    if audio is None:
        return np.zeros(TURN_SAMPLES // FRAME_SAMPLES, dtype=bool)
    if audio.shape != (TURN_SAMPLES,):
        raise BadRequest(error_message(BadRequest, f"AUDIO must be int16 [{TURN_SAMPLES}]; got {list(audio.shape)}"))
    frames = audio.astype(np.float64).reshape(-1, FRAME_SAMPLES) / 32768.0
    rms = np.sqrt(np.mean(frames**2, axis=1))
    result: npt.NDArray[np.bool_] = rms > 10.0 ** (threshold_dbfs / 20.0)
    return result


def voice(turn: int, level_dbfs: float) -> npt.NDArray[np.int16]:
    """200 ms of the harness's speech-like waveform for `turn`, phase-continuous across turns."""
    t = (turn * TURN_SAMPLES + np.arange(TURN_SAMPLES)) / SAMPLE_RATE
    wave = sum(np.sin(2 * math.pi * 120.0 * h * t) / h for h in range(1, 8))
    envelope = 0.55 + 0.45 * np.sin(2 * math.pi * 4.0 * t)
    shaped = wave * envelope
    scale = 10.0 ** (level_dbfs / 20.0) / float(np.sqrt(np.mean(shaped**2)))
    pcm: npt.NDArray[np.int16] = np.clip(np.round(shaped * scale * 32767.0), -32768, 32767).astype(np.int16)
    return pcm


class Harness:
    """VAD + silence timeout turn-taking; `step` answers one turn of one session."""

    def __init__(self, settings: HarnessSettings | None = None) -> None:
        self.settings = settings or HarnessSettings()
        self.version = self.settings.version
        self._response_turns = self.settings.response_ms // TURN_MS

    @staticmethod
    def new_state() -> HarnessState:
        return HarnessState()

    def _respond(self, state: HarnessState, turn: int, text: bytes) -> HarnessOutput:
        state.speaking_left = self._response_turns - 1
        state.heard_ms = state.since_backchannel_ms = 0
        return HarnessOutput(Action.SPEAK, text, voice(turn, -26.0))

    def step(
        self,
        state: HarnessState,
        turn: int,
        audio: npt.NDArray[np.int16] | None,
        text: bytes = b"",
        background: bytes = b"",
    ) -> HarnessOutput:
        """The decision for micro-turn `turn`; updates `state`."""
        settings = self.settings
        speech = speech_frames(audio, settings.vad_threshold_dbfs)
        speech_ms = int(speech.sum()) * FRAME_MS
        if speech_ms >= settings.min_speech_ms:
            trailing = int(np.argmax(speech[::-1]))  # silent frames after the turn's last speech frame
            state.silence_ms = trailing * FRAME_MS
            state.heard_ms += speech_ms
            state.since_backchannel_ms += speech_ms
            caller_speaks = True
        else:
            state.silence_ms += TURN_MS
            caller_speaks = False
        if background:
            return self._respond(state, turn, b"ok:")
        if text:
            return self._respond(state, turn, b"ok.")
        if caller_speaks:
            state.speaking_left = 0  # yield: the caller has the floor
            return HarnessOutput(Action.LISTEN, b"", _SILENT)
        if state.speaking_left > 0:
            state.speaking_left -= 1
            return HarnessOutput(Action.SPEAK, b"", voice(turn, -26.0))
        if state.heard_ms > 0 and state.silence_ms >= settings.silence_timeout_ms:
            return self._respond(state, turn, b"yes.")
        if state.since_backchannel_ms >= settings.backchannel_after_ms and state.silence_ms <= TURN_MS:
            state.since_backchannel_ms = 0
            return HarnessOutput(Action.BACKCHANNEL, b"mhm", voice(turn, -38.0))
        return HarnessOutput(Action.LISTEN, b"", _SILENT)
