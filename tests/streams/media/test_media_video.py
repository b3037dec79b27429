"""Frame choice per turn, JPEG round trips, and audio/video alignment on the turn clock."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.media import TURN_MS, AudioPiece, VideoPiece, decode_jpeg, open_media
from streams.media.errors import NotMedia
from streams.media.testing import Picture, Tone, color_index, frame_color, write_media
from streams.media.video import FrameSampler, JpegEncoder
from tests.streams.media.media_helpers import assert_well_formed, require_encoders, split

ENCODER = JpegEncoder(16)


def colored_frame(index: int, pts: int, time_base: Fraction) -> av.VideoFrame:
    image = np.zeros((16, 16, 3), dtype=np.uint8)
    image[..., 0], image[..., 1] = frame_color(index)
    frame = av.VideoFrame.from_ndarray(image, format="rgb24")
    frame.pts, frame.time_base = pts, time_base
    return frame


@settings(max_examples=60, deadline=None)
@given(
    gaps=st.lists(st.integers(1, 700), min_size=1, max_size=40),
    first_ms=st.integers(0, 500),
)
def test_each_turn_gets_the_latest_frame_at_or_before_its_start(gaps: list[int], first_ms: int) -> None:
    times = [first_ms + sum(gaps[:i]) for i in range(len(gaps))]  # ms, strictly increasing
    sampler = FrameSampler(ENCODER, origin=Fraction(0), frame_period=Fraction(1, 10))
    pieces: list[VideoPiece] = []
    for index, time in enumerate(times):
        pieces += sampler.push(colored_frame(index % 64, time, Fraction(1, 1000)))
    pieces += sampler.finish(video_only=True)
    end_ms = times[-1] + 100  # the nominal frame period of the last frame
    assert [p.turn for p in pieces] == list(range(math.ceil(end_ms / TURN_MS)))
    for piece in pieces:
        at_or_before = [i for i, t in enumerate(times) if t <= piece.start_ms]
        chosen = at_or_before[-1] if at_or_before else 0  # video starting late: first frame
        assert color_index(decode_jpeg(piece.jpeg)) == chosen % 64
        assert piece.source_pts_ms == times[chosen]


def test_frame_times_are_measured_from_the_session_origin() -> None:
    sampler = FrameSampler(ENCODER, origin=Fraction(1, 2), frame_period=Fraction(1, 5))
    pieces = []
    for index in range(6):  # frames at 500, 700, ... 1500 ms of stream time = 0 .. 1000 ms
        pieces += sampler.push(colored_frame(index, 500 + 200 * index, Fraction(1, 1000)))
    pieces += sampler.finish(video_only=True)
    assert [color_index(decode_jpeg(p.jpeg)) for p in pieces] == [0, 1, 2, 3, 4, 5]
    assert [p.source_pts_ms for p in pieces] == [0, 200, 400, 600, 800, 1000]


def test_a_frame_used_by_several_turns_is_encoded_once() -> None:
    sampler = FrameSampler(ENCODER, origin=Fraction(0), frame_period=Fraction(1))
    pieces = sampler.push(colored_frame(1, 0, Fraction(1)))
    pieces += sampler.push(colored_frame(2, 1, Fraction(1)))  # 1 fps
    pieces += sampler.finish(video_only=True)
    assert len(pieces) == 10
    assert all(p.jpeg is pieces[0].jpeg for p in pieces[:5])
    assert [color_index(decode_jpeg(p.jpeg)) for p in pieces] == [1] * 5 + [2] * 5


@pytest.mark.parametrize("size", [1, 40, 80, 81, 224])
def test_jpeg_round_trip_keeps_size_and_colour(size: int) -> None:
    image = np.zeros((90, 120, 3), dtype=np.uint8)
    image[...] = (200, 40, 100)
    jpeg = JpegEncoder(size).encode(av.VideoFrame.from_ndarray(image, format="rgb24"))
    assert jpeg[:2] == b"\xff\xd8"
    decoded = decode_jpeg(jpeg)
    assert decoded.shape == (size, size, 3) and decoded.dtype == np.uint8
    assert np.abs(decoded.astype(int) - (200, 40, 100)).max() <= 4


@pytest.mark.parametrize("size", [0, -1, 5000, 80.0, True])
def test_bad_video_size_is_refused_up_front(size: object) -> None:
    with pytest.raises(ValueError, match="video_size"):
        JpegEncoder(size)  # type: ignore[arg-type]


def test_decode_jpeg_rejects_garbage() -> None:
    with pytest.raises(NotMedia, match="JPEG"):
        decode_jpeg(b"definitely not a jpeg")


def run(path: Path, **kwargs: int) -> tuple[int, list[AudioPiece], list[VideoPiece]]:
    source = open_media(path, **kwargs)
    pieces = list(source.pieces())
    turns = assert_well_formed(pieces, has_audio=True, has_video=True)
    audio, video = split(pieces)
    return turns, audio, video


def test_video_longer_than_audio_is_cut_at_the_audio_clock(tmp_path: Path) -> None:
    require_encoders("flac", "mpeg4")
    path = write_media(tmp_path / "a.mkv", Tone("flac", 16_000, 1, 1.0), Picture("mpeg4", 12, 36))
    turns, audio, video = run(path)
    assert turns == 5 and audio[-1].last
    assert [color_index(decode_jpeg(v.jpeg)) for v in video] == [0, 2, 4, 7, 9]


def test_video_shorter_than_audio_repeats_its_last_frame(tmp_path: Path) -> None:
    require_encoders("flac", "mpeg4")
    path = write_media(tmp_path / "b.mkv", Tone("flac", 16_000, 1, 2.0), Picture("mpeg4", 12, 6))
    turns, _, video = run(path, video_size=32)
    assert turns == 10
    assert [color_index(decode_jpeg(v.jpeg)) for v in video] == [0, 2, 4] + [5] * 7
    assert {(v.width, v.height) for v in video} == {(32, 32)}
    assert video[-1].source_pts_ms in (416, 417)  # 5/12 s; Matroska stores whole ms


def test_slow_video_repeats_frames_between_them(tmp_path: Path) -> None:
    require_encoders("flac", "mpeg4")
    path = write_media(tmp_path / "c.mkv", Tone("flac", 16_000, 1, 2.0), Picture("mpeg4", 2, 4))
    _, _, video = run(path)
    assert [color_index(decode_jpeg(v.jpeg)) for v in video] == [0, 0, 0, 1, 1, 2, 2, 2, 3, 3]
