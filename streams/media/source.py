"""The front door: probe a media file, then decode it into pieces on the session clock.

Usage::

    source = open_media("call.mp4")          # raises the up-front MediaErrors
    for piece in source.pieces():            # may end with TruncatedStream
        if isinstance(piece, AudioPiece): ...
        else: ...                            # VideoPiece
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import av
from av.container import InputContainer

from streams.media.decode import decode_pieces
from streams.media.pieces import Piece
from streams.media.probe import Streams, choose_streams, open_container
from streams.media.video import DEFAULT_VIDEO_SIZE, JpegEncoder

Description = dict[str, str | int]


class MediaSource:
    """A media file that has been probed: its streams are known to exist and be decodable.

    Holds no open file: `pieces()` opens the file again and makes one demux pass each time it is
    iterated, so a source can be decoded more than once (e.g. to compare two runs).
    """

    def __init__(self, path: str, video_size: int, streams: Streams, description: Description):
        self._path = path
        self._video_size = video_size
        self._has_audio = streams.audio is not None
        self._has_video = streams.video is not None
        self._description = description

    @property
    def path(self) -> str:
        """The file this source reads."""
        return self._path

    @property
    def has_audio(self) -> bool:
        """Whether the file has a decodable audio stream (audio is then the turn clock)."""
        return self._has_audio

    @property
    def has_video(self) -> bool:
        """Whether the file has a decodable video stream (cover art does not count)."""
        return self._has_video

    def describe(self) -> Description:
        """What the file is: path, container, duration_ms and, per stream present, its codec,
        sample_rate, channels and channel_layout (audio) or width, height and fps (video).

        Keys of absent streams or undeclared values are left out; values are str or int.
        """
        return dict(self._description)

    def pieces(self) -> Iterator[Piece]:
        """Decode the file into `AudioPiece`s and `VideoPiece`s in session-clock order.

        For each turn k the video piece (if the file has video) comes before the audio piece (if
        it has audio). With audio there are ceil(resampled samples / 3200) turns; video-only
        input has ceil(video duration / 200 ms) turns. Raises the up-front errors of
        `open_media` before the first piece if the file changed meanwhile, and `TruncatedStream`
        after the last piece if decoding broke or ended short of the declared duration.
        """
        container = open_container(self._path)
        with container:
            streams = choose_streams(container, self._path)
            yield from decode_pieces(container, streams, self._path, self._video_size)

    def __repr__(self) -> str:
        return f"MediaSource({self._path!r}, audio={self._has_audio}, video={self._has_video})"


def open_media(path: str | os.PathLike[str], video_size: int = DEFAULT_VIDEO_SIZE) -> MediaSource:
    """Probe `path` and return a `MediaSource` ready to decode.

    `video_size` is the edge of the square RGB frames of video pieces. Raises EmptyFile,
    CannotOpen, NotMedia, NoMediaStreams or UnsupportedCodec (all `MediaError`s) when the file
    cannot be turned into pieces, ValueError for a bad `video_size`.
    """
    path = os.fspath(path)
    JpegEncoder(video_size)  # validates the size now rather than midway through decoding
    with open_container(path) as container:
        streams = choose_streams(container, path)
        return MediaSource(path, video_size, streams, _describe(container, streams, path))


def _describe(container: InputContainer, streams: Streams, path: str) -> Description:
    info: Description = {"path": path, "container": container.format.name}
    if container.duration is not None and container.duration > 0:
        info["duration_ms"] = container.duration * 1000 // av.time_base
    if streams.audio is not None:
        context = streams.audio.codec_context
        info.update(
            audio_codec=context.name,
            sample_rate=context.sample_rate,
            channels=context.channels,
            channel_layout=context.layout.name,
        )
    if streams.video is not None:
        vcontext = streams.video.codec_context
        info.update(video_codec=vcontext.name, width=vcontext.width, height=vcontext.height)
        rate = streams.video.average_rate or streams.video.guessed_rate
        if rate:
            info["fps"] = str(rate)
    return info
