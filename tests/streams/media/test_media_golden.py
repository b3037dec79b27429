"""Golden tests per container and codec, on media generated with PyAV into tmp_path.

For each: turn count, samples conserved (against a plain PyAV decode, within the resampler's
tolerance), the 440 Hz tone still dominant at about the same level, and for video the frame of
turn k is the one at or before 200k ms (frames carry their index in their colour).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from streams.media import CHUNK_SAMPLES, SAMPLE_RATE, AudioPiece, VideoPiece, decode_jpeg, open_media
from streams.media.audio import RESAMPLE_TOLERANCE
from streams.media.pieces import Piece
from streams.media.testing import Picture, Tone, color_index, write_media
from tests.streams.media.media_helpers import (
    assert_well_formed,
    audio_samples,
    dominant_hz,
    expected_resampled,
    reference_audio,
    require_encoders,
    rms,
    split,
)

SECONDS = 1.5


@dataclass(frozen=True)
class Case:
    name: str
    audio: Tone | None
    video: Picture | None = None

    @property
    def encoders(self) -> list[str]:
        return [spec.codec for spec in (self.audio, self.video) if spec is not None]


def tone(codec: str, rate: int, channels: int) -> Tone:
    return Tone(codec=codec, rate=rate, channels=channels, seconds=SECONDS)


def picture(codec: str) -> Picture:
    return Picture(codec=codec, fps=12, frames=round(12 * SECONDS))


CASES = [
    Case("telephony.wav", tone("pcm_mulaw", 8000, 1)),
    Case("s16.wav", tone("pcm_s16le", 44_100, 2)),
    Case("float.wav", tone("pcm_f32le", 48_000, 6)),
    Case("lossless.flac", tone("flac", 22_050, 2)),
    Case("song.mp3", tone("mp3", 44_100, 2)),
    Case("voice.ogg", tone("libopus", 48_000, 2)),
    Case("voice.opus", tone("libopus", 24_000, 1)),
    Case("music.m4a", tone("aac", 11_025, 1)),
    Case("vp8.webm", tone("libopus", 48_000, 2), picture("libvpx")),
    Case("vp9.webm", tone("libopus", 48_000, 1), picture("libvpx-vp9")),
    Case("h264.mp4", tone("aac", 44_100, 2), picture("h264")),
    Case("mpeg4.mkv", tone("flac", 16_000, 1), picture("mpeg4")),
]
LOSSY = ("mp3", "libopus", "aac")


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_golden(case: Case, tmp_path: Path) -> None:
    require_encoders(*case.encoders)
    path = write_media(tmp_path / case.name, case.audio, case.video)
    source = open_media(path)
    assert (source.has_audio, source.has_video) == (case.audio is not None, case.video is not None)
    pieces = list(source.pieces())
    turns = assert_well_formed(pieces, has_audio=source.has_audio, has_video=source.has_video)
    audio, video = split(pieces)
    info = source.describe()
    assert info["path"] == str(path) and int(info["duration_ms"]) > 0

    assert case.audio is not None
    samples = audio_samples(audio)
    source_samples, rate = reference_audio(path)
    assert rate == info["sample_rate"]
    assert rate == (48_000 if case.audio.codec == "libopus" else case.audio.rate)  # Opus: 48k
    assert info["channels"] == case.audio.channels
    assert abs(len(samples) - expected_resampled(source_samples, rate)) <= RESAMPLE_TOLERANCE
    assert turns == math.ceil(len(samples) / CHUNK_SAMPLES)
    # lossy codecs add priming/padding up to a codec frame; all of them keep the duration
    slack = 0.08 if case.audio.codec in LOSSY else 0.001
    assert abs(len(samples) / SAMPLE_RATE - SECONDS) <= slack
    assert abs(dominant_hz(samples) - case.audio.freq) < 5
    assert rms(samples) == pytest.approx(case.audio.amplitude / np.sqrt(2) * 32767, rel=0.15)

    if case.video is not None:
        assert (info["width"], info["height"]) == (case.video.width, case.video.height)
        check_frames(video, case.video)


def check_frames(video: Sequence[Piece], picture: Picture) -> None:
    for piece in video:
        assert isinstance(piece, VideoPiece)
        image = decode_jpeg(piece.jpeg)
        assert image.shape == (80, 80, 3) and (piece.width, piece.height) == (80, 80)
        # the latest frame at or before the turn's start (200k ms)
        wanted = min(piece.turn * picture.fps // 5, picture.frames - 1)
        assert color_index(image) == wanted, f"turn {piece.turn}"
        assert piece.source_pts_ms == pytest.approx(1000 * wanted / picture.fps, abs=1)
        assert piece.source_pts_ms <= piece.start_ms


@pytest.mark.parametrize(
    ("name", "codec", "frames", "turns"),
    [("video.mp4", "h264", 24, 10), ("video.webm", "libvpx", 25, 11)],
)
def test_video_only_turns_follow_the_video_timeline(
    tmp_path: Path, name: str, codec: str, frames: int, turns: int
) -> None:
    require_encoders(codec)
    picture = Picture(codec=codec, fps=12, frames=frames)  # 2.0 s and 2.083 s
    source = open_media(write_media(tmp_path / name, video=picture))
    assert not source.has_audio and source.has_video
    pieces = list(source.pieces())
    assert assert_well_formed(pieces, has_audio=False, has_video=True) == turns
    check_frames(pieces, picture)


def test_decoding_twice_gives_identical_pieces(tmp_path: Path) -> None:
    require_encoders("aac", "h264")
    path = write_media(tmp_path / "twice.mp4", tone("aac", 44_100, 2), picture("h264"))
    source = open_media(path)
    first, second = list(source.pieces()), list(source.pieces())
    assert len(first) == len(second)
    for a, b in zip(first, second, strict=True):
        assert type(a) is type(b) and a.turn == b.turn
        if isinstance(a, AudioPiece) and isinstance(b, AudioPiece):
            np.testing.assert_array_equal(a.samples, b.samples)
        else:
            assert a == b
