"""Writing small synthetic media files, for tests of anything that ingests media.

`write_media` encodes a sine tone and/or a moving-gradient video whose frames carry their own
index in their colour (`frame_color`, read back with `color_index`), with any codec this PyAV
build can encode. `missing_encoders` tells a test which codecs it has to skip.
"""

from __future__ import annotations

import heapq
import math
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, cast

import av
import numpy as np
import numpy.typing as npt
from av.audio.stream import AudioStream
from av.video.stream import VideoStream

_LAYOUTS = {1: "mono", 2: "stereo", 6: "5.1"}


@dataclass(frozen=True)
class Tone:
    """A sine tone to encode as the file's audio stream."""

    codec: str = "pcm_s16le"
    """FFmpeg encoder name (pcm_mulaw, flac, mp3, libopus, aac ...)."""
    rate: int = 44_100
    """Sample rate in Hz."""
    channels: int = 2
    """1, 2 or 6 (5.1); every channel carries the same tone."""
    seconds: float = 1.0
    """Duration; the file holds round(seconds * rate) samples."""
    freq: float = 440.0
    """Tone frequency in Hz."""
    amplitude: float = 0.5
    """Peak amplitude relative to full scale."""


@dataclass(frozen=True)
class Picture:
    """A video stream whose frame i shows `frame_color(i)` with a moving blue gradient."""

    codec: str = "h264"
    """FFmpeg encoder name (h264, libvpx, libvpx-vp9, mpeg4 ...)."""
    fps: int = 12
    """Frames per second; frame i is presented at i / fps seconds."""
    frames: int = 24
    """Number of frames."""
    width: int = 160
    """Frame width in pixels."""
    height: int = 120
    """Frame height in pixels."""


def frame_color(index: int) -> tuple[int, int]:
    """The (red, green) levels that encode frame `index` (0 to 255), 32 levels apart."""
    return (index % 8) * 32 + 16, (index // 8) * 32 + 16


def color_index(rgb: npt.NDArray[np.uint8]) -> int:
    """The frame index encoded in an RGB image: inverse of `frame_color`, from the mean colour."""
    red, green = (float(rgb[..., channel].mean()) for channel in (0, 1))
    return round((green - 16) / 32) * 8 + round((red - 16) / 32)


def missing_encoders(*codecs: str) -> list[str]:
    """Those of `codecs` this PyAV build cannot encode."""
    missing = []
    for name in codecs:
        try:
            av.Codec(name, "w")
        except av.FFmpegError:
            missing.append(name)
    return missing


def write_media(
    path: str | Path,
    audio: Tone | None = None,
    video: Picture | None = None,
    options: dict[str, str] | None = None,
) -> Path:
    """Encode the given streams into `path`; the container is chosen by the file extension.

    `options` go to the muxer (e.g. ``{"movflags": "faststart"}`` to put an MP4 index first).
    """
    path = Path(path)
    with av.open(str(path), "w", options=options or {}) as container:
        timelines = []
        if audio is not None:
            astream = cast(AudioStream, container.add_stream(audio.codec, rate=audio.rate))
            astream.layout = _LAYOUTS[audio.channels]
            timelines.append(_encoded(astream, _audio_frames(audio)))
        if video is not None:
            vstream = cast(VideoStream, container.add_stream(video.codec, rate=video.fps))
            vstream.width, vstream.height, vstream.pix_fmt = video.width, video.height, "yuv420p"
            vstream.options = {"crf": "18", "b": "2M"} if video.codec == "h264" else {"b": "2M"}
            timelines.append(_encoded(vstream, _video_frames(video)))
        # interleave by time so that muxers see a realistic packet order
        for _, packets in heapq.merge(*timelines, key=lambda item: item[0]):
            container.mux(packets)
    return path


def tone_samples(tone: Tone, start: int, count: int) -> npt.NDArray[np.float32]:
    """Samples [start, start + count) of the tone as float32 of shape (channels, count)."""
    t = np.arange(start, start + count, dtype=np.float64) / tone.rate
    wave = (tone.amplitude * np.sin(2 * np.pi * tone.freq * t)).astype(np.float32)
    return np.repeat(wave[None, :], tone.channels, axis=0)


def _encoded(
    stream: AudioStream | VideoStream, frames: Iterator[tuple[float, Any]]
) -> Iterator[tuple[float, list[av.Packet[Any]]]]:
    """(time, packets) for each frame in turn, then the encoder's flush at the end."""
    for time, frame in frames:
        yield time, stream.encode(frame)
    yield math.inf, stream.encode(None)


def _audio_frames(tone: Tone, block: int = 1024) -> Iterator[tuple[float, av.AudioFrame]]:
    total = round(tone.seconds * tone.rate)
    for start in range(0, total, block):
        count = min(block, total - start)
        frame = av.AudioFrame.from_ndarray(
            tone_samples(tone, start, count), format="fltp", layout=_LAYOUTS[tone.channels]
        )
        frame.sample_rate = tone.rate
        frame.pts, frame.time_base = start, Fraction(1, tone.rate)
        yield start / tone.rate, frame


def _video_frames(picture: Picture) -> Iterator[tuple[float, av.VideoFrame]]:
    columns = np.arange(picture.width)
    for index in range(picture.frames):
        image = np.empty((picture.height, picture.width, 3), dtype=np.uint8)
        image[..., 0], image[..., 1] = frame_color(index)
        image[..., 2] = ((columns * 255 // picture.width + index * 8) % 256).astype(np.uint8)
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts, frame.time_base = index, Fraction(1, picture.fps)
        yield index / picture.fps, frame


def write_wav(path: Path, seconds: float, freq: float, rate: int = 16_000) -> Path:
    """A mono s16 WAV of a caller who talks (a `freq` Hz tone) 0.6 s of every second."""
    t = np.arange(int(seconds * rate)) / rate
    pcm = (0.3 * 32767 * np.sin(2 * np.pi * freq * t) * (t % 1.0 < 0.6)).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
    return path
