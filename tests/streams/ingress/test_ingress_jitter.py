"""The jitter buffer puts telephone frames back on the media timeline, counting what it did."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from streams.ingress.errors import ProtocolError
from streams.ingress.jitter import JitterBuffer

FRAME = 160


def frame(index: int) -> npt.NDArray[np.int16]:
    """Frame `index` of a stream whose every sample is its frame number + 1 (0 means silence)."""
    return np.full(FRAME, index + 1, dtype=np.int16)


def timeline(blocks: list[npt.NDArray[np.int16]]) -> list[int]:
    """The released stream as one value per 160-sample frame (0 for silence)."""
    stream = np.concatenate(blocks) if blocks else np.zeros(0, np.int16)
    assert len(stream) % FRAME == 0
    return [int(stream[i]) for i in range(0, len(stream), FRAME)]


def buffer(depth: int = 3) -> JitterBuffer:
    return JitterBuffer(tolerance=FRAME // 2, depth=depth, max_gap=50 * FRAME)


def test_frames_in_order_are_released_at_once() -> None:
    jb = buffer()
    for i in range(5):
        assert timeline(jb.push(i * FRAME, i, frame(i))) == [i + 1]
    assert jb.position == 5 * FRAME and jb.stats.frames == 5 and jb.stats.gaps == 0


def test_a_frame_overtaken_within_the_depth_is_put_back_in_place() -> None:
    jb = buffer()
    out = []
    for i in (0, 2, 1, 3):
        out += jb.push(i * FRAME, i, frame(i))
    assert timeline(out) == [1, 2, 3, 4]
    assert jb.stats.reordered == 1 and jb.stats.gaps == 0


def test_a_lost_frame_becomes_counted_silence_once_depth_frames_wait() -> None:
    jb = buffer(depth=3)
    out = jb.push(0, 0, frame(0))
    for i in (2, 3):
        out += jb.push(i * FRAME, i, frame(i))
    assert timeline(out) == [1]  # frame 1 may still come
    out += jb.push(4 * FRAME, 4, frame(4))
    assert timeline(out) == [1, 0, 3, 4, 5]
    assert (jb.stats.gaps, jb.stats.gap_samples) == (1, FRAME)


def test_a_frame_arriving_after_its_slot_was_filled_is_dropped_as_late() -> None:
    jb = buffer(depth=1)
    out = jb.push(0, 0, frame(0)) + jb.push(2 * FRAME, 2, frame(2))  # depth 1: the gap is filled at once
    out += jb.push(FRAME, 1, frame(1))
    assert timeline(out) == [1, 0, 3]
    assert jb.stats.late == 1


def test_a_repeated_timestamp_is_a_duplicate() -> None:
    jb = buffer()
    out = jb.push(0, 0, frame(0)) + jb.push(0, 1, frame(0)) + jb.push(FRAME, 2, frame(1))
    assert timeline(out) == [1, 2] and jb.stats.duplicates == 1


def test_timestamp_jitter_within_tolerance_neither_opens_gaps_nor_drifts() -> None:
    jb = buffer()
    out = []
    for i, skew in enumerate([0, 3, -5, 40, -40, 0]):  # samples of timestamp error (8 kHz)
        out += jb.push(i * FRAME + skew, i, frame(i))
    assert timeline(out) == [1, 2, 3, 4, 5, 6]
    assert jb.stats.gaps == 0 and jb.position == 6 * FRAME


def test_flush_releases_what_is_held_filling_the_gaps() -> None:
    jb = buffer(depth=5)
    out = jb.push(0, 0, frame(0)) + jb.push(3 * FRAME, 3, frame(3))
    assert timeline(out) == [1]
    assert timeline(out + jb.flush()) == [1, 0, 0, 4]
    assert jb.stats.gap_samples == 2 * FRAME


def test_a_timestamp_far_ahead_or_negative_is_a_protocol_error() -> None:
    jb = buffer()
    with pytest.raises(ProtocolError, match="after the timeline's end"):
        jb.push(51 * FRAME, 0, frame(0))
    with pytest.raises(ProtocolError, match="timestamp >= 0"):
        jb.push(-FRAME, 1, frame(0))
