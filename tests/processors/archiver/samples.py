"""One event of every type, with every kind of field filled (dicts, tuples, None, bytes)."""

from __future__ import annotations

from typing import Any

import numpy as np

from schemas import (
    AudioChunk,
    BackgroundResult,
    BackgroundTask,
    DeadLetter,
    Event,
    MicroTurn,
    ModelOutput,
    SessionEnded,
    SessionStarted,
    TextEvent,
    VideoFrame,
    event_id,
)

TONE = (0.5 * 32767 * np.sin(np.arange(3200) / 5)).astype("<i2").tobytes()


def envelope(session: str, stream: str, seq: int, turn: int | None = None) -> dict[str, Any]:
    return {
        "event_id": event_id(session, stream, seq),
        "session_id": session,
        "seq": seq,
        "event_time_ms": seq * 200,
        "turn": turn,
        "wall_time_ns": 1_700_000_000_000_000_000 + seq,
        "producer": "test",
    }


def every_event(session: str = "s1") -> list[Event]:
    return [
        SessionStarted(
            **envelope(session, "session", 0),
            source="call.wav",
            media={"codec": "pcm"},
            metadata={"caller": "+1 555", "campaign": "x"},
        ),
        AudioChunk(**envelope(session, "audio", 0, 0), samples=TONE),
        AudioChunk(**envelope(session, "audio", 1, 1), samples=bytes(6400), valid_samples=100, last=True),
        VideoFrame(**envelope(session, "video", 0, 0), jpeg=b"\xff\xd8jpeg", width=40, height=30),
        TextEvent(**envelope(session, "text", 0, 0), text="héllo", speaker="agent"),
        MicroTurn(
            **envelope(session, "turn", 0, 0),
            audio=TONE,
            video=None,
            text="héllo",
            event_ids=("a", "b"),
            late_event_ids=(),
            closed_by="audio",
        ),
        ModelOutput(
            **envelope(session, "output", 0, 0),
            action="SPEAK",
            text="hi",
            audio=TONE,
            model_version="tiny@abc",
            input_wall_time_ns=5,
            model_ms=1.5,
        ),
        BackgroundTask(
            **envelope(session, "task", 0, 0),
            task_id="t0",
            task="look up",
            context={"recent": "hello"},
        ),
        BackgroundResult(**envelope(session, "result", 0, 3), task_id="t0", result="found", status="ok"),
        DeadLetter(
            **envelope(session, "dlq", 0),
            source_topic="x.input.audio",
            source_partition=1,
            source_offset=7,
            reason="bad",
            raw_key=b"s1",
            raw_value=None,
        ),
        SessionEnded(
            **envelope(session, "session", 1),
            reason="truncated",
            turns=2,
            audio_chunks=2,
            detail="cut",
        ),
    ]
