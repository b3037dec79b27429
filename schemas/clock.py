"""The session clock's constants, defined once for the whole project (DESIGN.md "Time and the clock").

The session clock counts milliseconds of media from the session's start, derived from samples,
never from the wall clock. Turn k covers ``[TURN_MS * k, TURN_MS * (k + 1))`` ms, which is exactly
audio samples ``[TURN_SAMPLES * k, TURN_SAMPLES * (k + 1))`` at `SAMPLE_RATE`, mono int16.
"""

from __future__ import annotations

SAMPLE_RATE = 16_000
"""Audio sample rate of every audio chunk and of the model's audio in and out, in Hz."""
TURN_MS = 200
"""Length of one micro-turn on the session clock, in milliseconds."""
TURN_SAMPLES = SAMPLE_RATE * TURN_MS // 1000
"""Audio samples in one micro-turn (3200)."""
TURN_BYTES = TURN_SAMPLES * 2
"""Bytes of one micro-turn of int16 little-endian audio (6400)."""
