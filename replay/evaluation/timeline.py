"""The two timelines of a recorded session: the caller's speech, found by silero-vad on the
recorded audio, and what the model did per turn, from its outputs."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt

from replay.evaluation.errors import EvaluationError
from replay.evaluation.metrics import ModelTurn, Span
from replay.session.recording import Recording
from schemas import AudioChunk, ModelOutput
from schemas.clock import TURN_MS

SAMPLE_RATE = 16_000
TURN_SAMPLES = SAMPLE_RATE * TURN_MS // 1000
VAD_THRESHOLD = 0.5
"""silero-vad speech probability threshold (its default)."""
MIN_SPEECH_MS = 120
"""Shorter VAD segments are dropped (clicks, line noise)."""
MIN_SILENCE_MS = 120
"""Silences shorter than this do not split a speech segment (gaps between words)."""


@cache
def _vad_model() -> Any:
    """silero-vad's packaged model (its PyPI wheel ships the weights; loaded once per process)."""
    from silero_vad import load_silero_vad

    return load_silero_vad()


def caller_audio(recording: Recording) -> npt.NDArray[np.int16]:
    """The caller's audio on the session clock (silence where no chunk was recorded)."""
    chunks = recording.of_type(AudioChunk)
    if not chunks:
        raise EvaluationError(
            f"session {recording.session_id!r} in {recording.source} has no caller audio: turn-taking needs speech"
        )
    turns = max(c.event_time_ms // TURN_MS for c in chunks) + 1
    track = np.zeros(turns * TURN_SAMPLES, dtype=np.int16)
    for chunk in chunks:
        start = chunk.event_time_ms // TURN_MS * TURN_SAMPLES
        samples = np.frombuffer(chunk.samples, dtype="<i2")[:TURN_SAMPLES]
        track[start : start + len(samples)] = samples
    return track


def speech_segments(audio: npt.NDArray[np.int16]) -> list[Span]:
    """Caller speech as [start_ms, end_ms) segments, by silero-vad (CPU, one thread of torch)."""
    import torch
    from silero_vad import get_speech_timestamps

    if not len(audio):
        return []
    wave = torch.from_numpy(audio.astype(np.float32) / 32768.0)
    found = get_speech_timestamps(
        wave,
        _vad_model(),
        sampling_rate=SAMPLE_RATE,
        threshold=VAD_THRESHOLD,
        min_speech_duration_ms=MIN_SPEECH_MS,
        min_silence_duration_ms=MIN_SILENCE_MS,
        speech_pad_ms=0,
    )
    return [(int(s["start"]) * 1000 // SAMPLE_RATE, int(s["end"]) * 1000 // SAMPLE_RATE) for s in found]


def _dbfs(pcm: bytes) -> float:
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    if not len(samples):
        return -math.inf
    rms = float(np.sqrt(np.mean(samples**2))) / 32768.0
    return 20 * math.log10(rms) if rms > 0 else -math.inf


def model_turns(outputs: Iterable[ModelOutput]) -> list[ModelTurn]:
    """What the model did per turn, from recorded (or what-if) ModelOutputs."""
    return [ModelTurn(o.seq, o.action, _dbfs(o.audio)) for o in outputs]


def turns_from(actions: Sequence[tuple[int, str, bytes]]) -> list[ModelTurn]:
    """ModelTurns from (turn, action, audio bytes) triples (what-if replay)."""
    return [ModelTurn(turn, action, _dbfs(audio)) for turn, action, audio in actions]
