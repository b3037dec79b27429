"""One demux pass over an open container, yielding pieces in session-clock order.

Memory stays bounded whatever the file's length: packets are decoded as they are demuxed, audio
is cut into pieces as it is resampled, and only the current video frame is kept.

The session clock starts at the first audio sample (the audio stream's declared start time);
video frame times are measured from that same origin so that audio and video stay in sync. For
video-only input the origin is the video stream's start time.

Truncation: any FFmpeg error while demuxing or decoding stops the pass (corrupt or cut packets);
a pass that ends quietly is checked by `truncation.check_complete` (declared durations, WAV and
Ogg structure). Either way the pieces of everything that did decode are yielded first (the last
audio piece padded and flagged as usual), then `TruncatedStream` is raised.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction

import av
from av.container import InputContainer
from av.stream import Stream

from streams.media.audio import MonoResampler
from streams.media.chunker import AudioChunker
from streams.media.errors import TruncatedStream
from streams.media.order import TurnOrder
from streams.media.pieces import Piece
from streams.media.probe import Streams
from streams.media.truncation import check_complete
from streams.media.video import FrameSampler, JpegEncoder


def decode_pieces(container: InputContainer, streams: Streams, path: str, video_size: int) -> Iterator[Piece]:
    """Demux and decode `container` once; yield its pieces; raise TruncatedStream at the end."""
    audio, video = streams.audio, streams.video
    selected = [stream for stream in (audio, video) if stream is not None]
    pipeline = _Pipeline(streams, video_size)
    failure: av.FFmpegError | None = None
    try:
        for packet in container.demux(selected):
            for frame in packet.decode():
                pipeline.feed(frame)
            yield from pipeline.order.ready()
    except av.FFmpegError as exc:
        failure = exc
        for stream in selected:  # keep what the decoders still buffer
            try:
                for frame in stream.codec_context.decode(None):
                    pipeline.feed(frame)
            except av.FFmpegError:
                continue
    yield from pipeline.finish()
    decoded: dict[str, tuple[Stream, Fraction]] = {}
    if audio is not None:
        decoded["audio"] = (audio, pipeline.resampler.source_seconds)
    if video is not None:
        decoded["video"] = (video, pipeline.sampler.span_seconds)
    if failure is not None:
        kind, (_, seconds) = next(iter(decoded.items()))
        raise TruncatedStream(
            f"decoding '{path}' failed after {int(seconds * 1000)} ms of {kind} "
            f"(FFmpeg: {failure.strerror}); the file is truncated or corrupt",
            path=path,
            decoded_ms=int(seconds * 1000),
        ) from failure
    check_complete(container, path, decoded)


class _Pipeline:
    """Decoded frames in, ordered pieces out: resampler and chunker, frame sampler, turn order."""

    def __init__(self, streams: Streams, video_size: int) -> None:
        clock_stream = streams.audio if streams.audio is not None else streams.video
        self.resampler = MonoResampler()
        self.chunker = AudioChunker()
        self.sampler = FrameSampler(JpegEncoder(video_size), _start_seconds(clock_stream), _frame_period(streams.video))
        self.order = TurnOrder(streams.audio is not None, streams.video is not None, self.sampler.pieces_until)

    def feed(self, frame: object) -> None:
        """Route one decoded frame; the pieces it completes wait in `order`."""
        if isinstance(frame, av.AudioFrame):
            for samples in self.resampler.push(frame):
                self.order.add_audio(self.chunker.push(samples))
        elif isinstance(frame, av.VideoFrame):
            self.order.add_video(self.sampler.push(frame))

    def finish(self) -> Iterator[Piece]:
        """Flush resampler, chunker and sampler; release every remaining turn."""
        for samples in self.resampler.flush():
            self.order.add_audio(self.chunker.push(samples))
        self.order.add_audio(self.chunker.finish())
        self.order.end_audio()
        self.order.add_video(self.sampler.finish(video_only=self.chunker.samples_in == 0))
        self.order.end_video()
        yield from self.order.finish()


def _start_seconds(stream: Stream | None) -> Fraction:
    if stream is None or stream.start_time is None or stream.time_base is None:
        return Fraction(0)
    return stream.start_time * stream.time_base


def _frame_period(stream: Stream | None) -> Fraction:
    rate = None if stream is None else (stream.average_rate or stream.guessed_rate)
    return 1 / Fraction(rate) if rate else Fraction(0)
