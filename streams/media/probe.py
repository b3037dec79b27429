"""Opening a media file and choosing its streams, with every up-front failure classified.

`open_container` turns OS and FFmpeg failures into `EmptyFile`, `CannotOpen` and `NotMedia`;
`choose_streams` picks the audio and video stream to decode or raises `NoMediaStreams` /
`UnsupportedCodec`. Both run before anything is decoded, so their errors reach the caller before
any piece has been yielded.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from typing import TypeVar

import av
from av.audio.stream import AudioStream
from av.container import InputContainer
from av.stream import Disposition, Stream
from av.video.stream import VideoStream

from streams.media.errors import CannotOpen, EmptyFile, NoMediaStreams, NotMedia, UnsupportedCodec

_HEAD_BYTES = 8
_S = TypeVar("_S", bound=Stream)


@dataclass(frozen=True)
class Streams:
    """The streams of a container that are decoded into pieces."""

    audio: AudioStream | None
    """The audio stream to decode, or None when the file has none."""
    video: VideoStream | None
    """The video stream to decode (never cover art), or None when the file has none."""


def open_container(path: str) -> InputContainer:
    """Open `path` for demuxing; the caller closes the container.

    Raises CannotOpen (missing, a directory, unreadable), EmptyFile (0 bytes) or NotMedia (no
    demuxer recognises the bytes, or the header is unreadable, e.g. an MP4 cut before its index).
    """
    try:
        info = os.stat(path)
    except OSError as exc:
        raise CannotOpen(f"cannot open media file '{path}': {_os_reason(exc)}", path=path) from exc
    if stat.S_ISDIR(info.st_mode):
        raise CannotOpen(f"expected a media file at '{path}'; found a directory", path=path)
    if stat.S_ISREG(info.st_mode) and info.st_size == 0:
        raise EmptyFile(f"expected audio or video data in '{path}'; found an empty file", path=path)
    try:
        return av.open(path, mode="r", metadata_errors="replace")
    except av.InvalidDataError as exc:
        head = _head(path)
        if head[4:8] == b"ftyp":  # an ISO media file (MP4, MOV, M4A) whose index is unreadable
            raise NotMedia(
                f"expected an MP4/QuickTime index (moov box) in '{path}'; got {info.st_size} "
                "bytes without a readable one: the file is truncated or was never finalized",
                path=path,
            ) from exc
        raise NotMedia(
            f"expected an audio or video container in '{path}'; got {info.st_size} bytes "
            f"starting {head.hex(' ')} that FFmpeg cannot read as media ({exc.strerror})",
            path=path,
        ) from exc
    except OSError as exc:  # PyAV's errno errors are OSError subclasses as well
        raise CannotOpen(f"cannot open media file '{path}': {_os_reason(exc)}", path=path) from exc
    except av.FFmpegError as exc:
        raise CannotOpen(f"cannot open media file '{path}': {exc.strerror}", path=path) from exc


def choose_streams(container: InputContainer, path: str) -> Streams:
    """Pick the first decodable audio stream and the first decodable non-cover-art video stream.

    The chosen streams' decoders are opened here, so that a decoder that exists but refuses the
    stream (bad codec parameters) is reported now rather than as a failure midway. Raises
    NoMediaStreams when there is neither kind, UnsupportedCodec when a kind is present but no
    stream of that kind can be decoded by this PyAV build.
    """
    audio = list(container.streams.audio)
    video = [s for s in container.streams.video if not _is_cover_art(s)]
    if not audio and not video:
        found = sorted({_kind(s) for s in container.streams})
        what = f"found only: {', '.join(found)}" if found else "found no streams at all"
        raise NoMediaStreams(f"expected an audio or video stream in '{path}'; {what}", path=path)
    return Streams(audio=_decodable(audio, "audio", path), video=_decodable(video, "video", path))


def _decodable(candidates: list[_S], kind: str, path: str) -> _S | None:
    if not candidates:
        return None
    reasons = []
    for stream in candidates:
        context = stream.codec_context
        if context is None or context.codec is None:
            reasons.append(f"{_codec_name(stream)}, for which this PyAV build has no decoder")
            continue
        try:
            if not context.is_open:
                context.open()
        except av.FFmpegError as exc:
            reasons.append(f"{context.name}, whose decoder refuses it ({exc.strerror})")
            continue
        return stream
    raise UnsupportedCodec(
        f"expected a decodable {kind} stream in '{path}'; found {kind} coded as {'; '.join(reasons)}",
        path=path,
    )


def _is_cover_art(stream: Stream) -> bool:
    return bool(stream.disposition & Disposition.attached_pic)


def _kind(stream: Stream) -> str:
    return "cover art (attached picture)" if _is_cover_art(stream) else stream.type


def _codec_name(stream: Stream) -> str:
    # PyAV leaves codec_context None when FFmpeg has no decoder, so the id is not reachable
    context = stream.codec_context
    return context.name if context is not None else "a codec FFmpeg does not know"


def _head(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(_HEAD_BYTES)
    except OSError:
        return b""


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return exc.strerror or str(exc)
