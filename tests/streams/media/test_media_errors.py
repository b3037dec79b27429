"""Bad input: every up-front error class before any piece, and truncation detected midway."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import av
import numpy as np
import pytest

from streams.media import AudioPiece, MediaError, open_media
from streams.media.errors import (
    CannotOpen,
    EmptyFile,
    NoMediaStreams,
    NotMedia,
    TruncatedStream,
    UnsupportedCodec,
)
from streams.media.pieces import Piece
from streams.media.testing import Picture, Tone, write_media
from tests.streams.media.media_helpers import assert_well_formed, require_encoders

SUBTITLES = "1\n00:00:00,000 --> 00:00:01,000\nhello\n\n2\n00:00:01,500 --> 00:00:02,000\nbye\n"


def wav_with_format_tag(path: Path, tag: int) -> Path:
    """A RIFF/WAVE file whose fmt chunk names codec `tag`, with 1 s of zero bytes."""
    fmt = struct.pack("<HHIIHH", tag, 1, 8000, 16000, 2, 16)
    data = bytes(16000)
    body = b"WAVEfmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


def expect_up_front(path: Path | str, error: type[MediaError], kind: str, *words: str) -> MediaError:
    """open_media raises `error`; its kind, path and message are as documented."""
    with pytest.raises(error) as caught:
        open_media(path)
    assert caught.value.kind == kind and isinstance(caught.value, MediaError)
    assert caught.value.path == str(path) and f"'{path}'" in str(caught.value)
    for word in words:
        assert word in str(caught.value)
    return caught.value


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.wav").touch()
    expect_up_front(tmp_path / "empty.wav", EmptyFile, "empty_file", "expected audio or video", "empty")


def test_missing_file_and_directory(tmp_path: Path) -> None:
    expect_up_front(tmp_path / "nope.mp4", CannotOpen, "cannot_open", "no such file")
    expect_up_front(tmp_path, CannotOpen, "cannot_open", "expected a media file", "directory")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "secret.wav"
    path.write_bytes(b"RIFF" + bytes(100))
    path.chmod(0)
    expect_up_front(path, CannotOpen, "cannot_open", "permission denied")


def test_open_failure_from_ffmpeg_is_wrapped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "x.wav"
    path.write_bytes(b"RIFF" + bytes(100))

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(av, "open", refuse)
    error = expect_up_front(path, CannotOpen, "cannot_open", "permission denied")
    assert isinstance(error.__cause__, PermissionError)


@pytest.mark.parametrize(
    ("name", "content"),
    [("noise.wav", np.random.default_rng(1).bytes(5000)), ("notes.mkv", b"just some text\n" * 40)],
)
def test_not_media(tmp_path: Path, name: str, content: bytes) -> None:
    (tmp_path / name).write_bytes(content)
    error = expect_up_front(tmp_path / name, NotMedia, "not_media", "expected an audio or video container")
    assert f"got {len(content)} bytes starting {content[:8].hex(' ')}" in str(error)


def test_mp4_cut_before_its_index(tmp_path: Path) -> None:
    require_encoders("aac", "h264")
    path = write_media(tmp_path / "cut.mp4", Tone("aac", 44_100, 2, 2.0), Picture("h264", 12, 24))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # the moov box is at the end
    expect_up_front(path, NotMedia, "not_media", "moov", "truncated")


def test_subtitles_only(tmp_path: Path) -> None:
    (tmp_path / "talk.srt").write_text(SUBTITLES)
    expect_up_front(tmp_path / "talk.srt", NoMediaStreams, "no_media_streams", "found only: subtitle")


@pytest.mark.parametrize(
    ("tag", "words"),
    [
        (0x1234, ("a codec FFmpeg does not know", "no decoder")),  # no such codec
        (0x0045, ("g726, whose decoder refuses it",)),  # G.726 declared with 16 bits a sample
    ],
)
def test_undecodable_codec(tmp_path: Path, tag: int, words: tuple[str, ...]) -> None:
    path = wav_with_format_tag(tmp_path / "odd.wav", tag)
    expect_up_front(path, UnsupportedCodec, "unsupported_codec", "expected a decodable audio stream", *words)


def test_up_front_errors_from_pieces_come_before_any_piece(tmp_path: Path) -> None:
    path = write_media(tmp_path / "gone.wav", Tone("pcm_s16le", 16_000, 1, 0.5))
    source = open_media(path)
    path.unlink()
    pieces = source.pieces()
    with pytest.raises(CannotOpen):
        next(pieces)


def collect_until_error(path: Path) -> tuple[list[Piece], MediaError | None]:
    pieces: list[Piece] = []
    try:
        for piece in open_media(path).pieces():
            pieces.append(piece)
    except MediaError as exc:
        return pieces, exc
    return pieces, None


TRUNCATION_CASES = [
    ("s16.wav", Tone("pcm_s16le", 44_100, 2, 4.0), None),
    ("mulaw.wav", Tone("pcm_mulaw", 8000, 1, 4.0), None),
    ("a.flac", Tone("flac", 22_050, 2, 4.0), None),
    ("a.mp3", Tone("mp3", 44_100, 2, 4.0), None),
    ("a.ogg", Tone("libopus", 48_000, 2, 4.0), None),
    ("vp8.webm", Tone("libopus", 48_000, 2, 4.0), Picture("libvpx", 12, 48)),
    ("vp9.webm", Tone("libopus", 48_000, 1, 4.0), Picture("libvpx-vp9", 12, 48)),
    ("h264.mp4", Tone("aac", 44_100, 2, 4.0), Picture("h264", 12, 48)),
    ("video.webm", None, Picture("libvpx", 12, 48)),
]
GARBAGE_CASES = [case for case in TRUNCATION_CASES if not case[0].endswith(".wav")]


def make(tmp_path: Path, name: str, audio: Tone | None, video: Picture | None) -> tuple[Path, bytes]:
    require_encoders(*[spec.codec for spec in (audio, video) if spec is not None])
    options = {"movflags": "faststart"} if name.endswith(".mp4") else None  # index first
    path = write_media(tmp_path / name, audio, video, options=options)
    return path, path.read_bytes()


def check_truncated(path: Path, full_turns: int, has_audio: bool, has_video: bool) -> None:
    pieces, error = collect_until_error(path)
    assert isinstance(error, TruncatedStream), f"not detected: {error!r}"
    assert error.kind == "truncated" and f"'{path}'" in str(error)
    # what decoded was delivered first, well formed, the last audio piece flagged
    turns = assert_well_formed(pieces, has_audio=has_audio, has_video=has_video)
    assert 0 < turns < full_turns
    if has_audio:
        assert [p for p in pieces if isinstance(p, AudioPiece)][-1].last


@pytest.mark.parametrize(("name", "audio", "video"), TRUNCATION_CASES, ids=[c[0] for c in TRUNCATION_CASES])
def test_file_cut_in_half(tmp_path: Path, name: str, audio: Tone | None, video: Picture | None) -> None:
    path, data = make(tmp_path, name, audio, video)
    full, error = collect_until_error(path)
    assert error is None
    path.write_bytes(data[: len(data) // 2])
    check_truncated(path, len(full), audio is not None, video is not None)


@pytest.mark.parametrize(("name", "audio", "video"), GARBAGE_CASES, ids=[c[0] for c in GARBAGE_CASES])
def test_garbage_over_the_middle(tmp_path: Path, name: str, audio: Tone | None, video: Picture | None) -> None:
    path, data = make(tmp_path, name, audio, video)
    full, _ = collect_until_error(path)
    middle, span = len(data) // 2, len(data) // 8
    garbage = np.random.default_rng(7).bytes(span)
    path.write_bytes(data[:middle] + garbage + data[middle + span :])
    check_truncated(path, len(full), audio is not None, video is not None)


def test_garbage_in_raw_pcm_goes_unnoticed(tmp_path: Path) -> None:
    """Documented limit: raw PCM has no structure, so overwritten samples are just noise."""
    path, data = make(tmp_path, "raw.wav", Tone("pcm_s16le", 16_000, 1, 2.0), None)
    middle = len(data) // 2
    path.write_bytes(data[:middle] + np.random.default_rng(3).bytes(4000) + data[middle + 4000 :])
    pieces, error = collect_until_error(path)
    assert error is None and len(pieces) == 10
