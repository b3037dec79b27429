"""Recording a synthetic session offline, for tests and benchmarks of replay and export.

    inputs = synthetic_inputs("s1", seconds=4.0, video=True, text_every_s=1.0)
    recording = record_offline(net, inputs)   # turns assembled and answered exactly as a worker would

`record_offline` applies the inputs in publishing order (text, video, audio per turn), assembles
them with the real `TurnAssembler` and answers each turn with `net` the way the interaction step
does (same ModelOutput fields and conversions), so an exact replay of the result is identical.
"""

from __future__ import annotations

import math
from typing import Any

import av
import numpy as np

from inference.client import TurnResult
from processors.assembler import InputEvent, SessionAssembly, TurnAssembler
from processors.interaction import model_output
from replay.offline import Model
from replay.session.recording import Recording
from replay.session.runner import run_turns
from schemas import (
    AudioChunk,
    SessionEnded,
    SessionStarted,
    TextEvent,
    VideoFrame,
)
from schemas.clock import SAMPLE_RATE, TURN_MS, TURN_SAMPLES
from schemas.envelope import Stamper
from streams.media.video import JpegEncoder
from streams.redaction import Redactor


def _envelope(session_id: str, stream: str, seq: int, time_ms: int) -> dict[str, Any]:
    """Test inputs carry wall time 0, so two runs of the same helper make identical events."""
    return Stamper("testing", session_id).stamp(stream, seq, time_ms, time_ms // TURN_MS, wall_time_ns=0)


def synthetic_inputs(
    session_id: str, seconds: float, video: bool = False, text_every_s: float = 0.0, video_size: int = 80
) -> list[InputEvent]:
    """A session's input events in publishing order: a 220 Hz tone that pauses every second,
    optionally a frame per turn (colour changing with the turn) and a text line every few seconds."""
    turns = math.ceil(seconds * 1000 / TURN_MS)
    t = np.arange(turns * TURN_SAMPLES) / SAMPLE_RATE
    pcm = (0.3 * 32767 * np.sin(2 * np.pi * 220.0 * t) * (t % 1.0 < 0.6)).astype("<i2")
    encoder = JpegEncoder(video_size)
    events: list[InputEvent] = [
        SessionStarted(
            **_envelope(session_id, "session", 0, 0),  # type: ignore[arg-type]
            has_video=video,
            source="synthetic",
        )
    ]
    texts = 0
    for k in range(turns):
        ms = k * TURN_MS
        if text_every_s and ms % int(text_every_s * 1000) == 0 and k:
            events.append(
                TextEvent(
                    **_envelope(session_id, "text", texts, ms + 50),  # type: ignore[arg-type]
                    text=f"line {texts} at {ms / 1000:.1f}s",
                )
            )
            texts += 1
        if video:
            image = np.zeros((video_size, video_size, 3), dtype=np.uint8)
            image[..., 0], image[..., 1] = (k * 37) % 256, (k * 11) % 256
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            events.append(
                VideoFrame(
                    **_envelope(session_id, "video", k, ms),  # type: ignore[arg-type]
                    jpeg=encoder.encode(frame),
                    width=video_size,
                    height=video_size,
                )
            )
        events.append(
            AudioChunk(
                **_envelope(session_id, "audio", k, ms),  # type: ignore[arg-type]
                samples=pcm[k * TURN_SAMPLES : (k + 1) * TURN_SAMPLES].tobytes(),
                last=k == turns - 1,
            )
        )
    events.append(
        SessionEnded(
            **_envelope(session_id, "session", 1, turns * TURN_MS),  # type: ignore[arg-type]
            turns=turns,
            audio_chunks=turns,
        )
    )
    return events


def record_offline(
    net: Model, inputs: list[InputEvent], source: str = "offline", redactor: Redactor | None = None
) -> Recording:
    """The recording a worker would have made of `inputs` (one session), answered by `net`; its
    outputs redacted by `redactor` as a worker's are (None: not redacted)."""
    session_id = inputs[0].session_id
    assembler, state = TurnAssembler(), SessionAssembly(session_id)
    turns = [t for event in inputs for t in assembler.apply(state, event).turns]
    partial = Recording(session_id, source, tuple(inputs), tuple(turns), ())
    stamper = Stamper("testing")
    outputs = [
        model_output(
            stamper,
            step.turn,
            TurnResult(
                action=int(step.output.action),
                text=step.output.text,
                audio=step.output.audio,
                delegate=step.output.delegate,
                model_version=net.version,
                model_ms=step.model_ms,
            ),
            redactor,
        )
        for step in run_turns(net, partial)
    ]
    return Recording(session_id, source, tuple(inputs), tuple(turns), tuple(outputs))
