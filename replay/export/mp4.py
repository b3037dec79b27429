"""Writing tracks as an MP4: AAC stereo audio, H.264 video of the recorded frames, mov_text subtitles.

The container's `comment` tag names the model audio's basis (carrier-confirmed or unconfirmed).

Every stream starts at session time 0. Audio and video are encoded turn by turn and muxed as they
come, so memory stays flat for long sessions; subtitles are muxed as raw mov_text samples (a
16-bit big-endian length, then the UTF-8 text), since FFmpeg's subtitle encoder API is not
exposed for packets. The stream opens a mov_text encoder only to get its sample description.
"""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path
from typing import Any, cast

import av
import numpy as np
from av.audio.stream import AudioStream
from av.video.stream import VideoStream

from replay.export.errors import ExportError
from replay.export.tracks import Cue, Tracks
from schemas.clock import SAMPLE_RATE, TURN_MS, TURN_SAMPLES
from streams.media import decode_jpeg

VIDEO_CODEC = "h264"
_MS = Fraction(1, 1000)
_BASIS = {
    "carrier": "only what the carrier confirmed as played",
    "unconfirmed": "every output: no carrier confirmed playback",
}
"""The container's `comment` tag says which model speech the file holds (`replay.export.heard`)."""
_ASS_HEADER = (
    b"[Script Info]\nScriptType: v4.00+\nPlayResX: 384\nPlayResY: 288\n\n[V4+ Styles]\n"
    b"Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, "
    b"Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, "
    b"MarginR, MarginV, Encoding\n"
    b"Style: Default,Arial,16,&Hffffff,&Hffffff,&H0,&H0,0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,0\n\n[Events]\n"
    b"Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
)


def _subtitle_packet(stream: Any, cue: Cue) -> av.Packet[Any]:
    text = cue.text.encode()[:65535]
    packet = av.Packet(struct.pack(">H", len(text)) + text)
    packet.stream = stream
    packet.time_base = _MS
    packet.pts = packet.dts = cue.start_ms
    packet.duration = cue.end_ms - cue.start_ms
    return packet


def _video_frame(jpeg: bytes | None, size: tuple[int, int]) -> av.VideoFrame:
    image = decode_jpeg(jpeg) if jpeg is not None else np.zeros((size[1], size[0], 3), dtype=np.uint8)
    if (image.shape[1], image.shape[0]) != size:  # a frame of another size: scaled to the first one's
        return av.VideoFrame.from_ndarray(image, format="rgb24").reformat(width=size[0], height=size[1])
    return av.VideoFrame.from_ndarray(image, format="rgb24")


def write_mp4(tracks: Tracks, path: Path) -> None:
    """Write `tracks` to `path` as MP4 (module docstring); ExportError naming what failed."""
    try:
        _write(tracks, path)
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise ExportError(f"writing {path} as MP4 (aac, {VIDEO_CODEC}, mov_text): {exc}") from exc


def _write(tracks: Tracks, path: Path) -> None:
    with av.open(str(path), "w", format="mp4") as container:
        container.metadata["comment"] = (
            f"microturn model audio: {tracks.model_audio.basis} ({_BASIS[tracks.model_audio.basis]})"
        )
        audio: AudioStream = container.add_stream("aac", rate=SAMPLE_RATE)
        audio.layout = "stereo"
        video: VideoStream | None = None
        size = (0, 0)
        first = next((f for f in tracks.frames if f is not None), None)
        if first is not None:
            height, width = decode_jpeg(first).shape[:2]
            size = (width + width % 2, height + height % 2)  # yuv420p needs even sides
            video = cast(VideoStream, container.add_stream(VIDEO_CODEC, rate=5))
            video.width, video.height, video.pix_fmt = size[0], size[1], "yuv420p"
        subtitles = None
        if tracks.cues:
            subtitles = container.add_stream("mov_text")
            subtitles.codec_context.subtitle_header = _ASS_HEADER  # type: ignore[attr-defined]
            subtitles.time_base = _MS
        cues = list(tracks.cues)
        for turn in range(tracks.turns):
            pcm = tracks.stereo[turn * TURN_SAMPLES : (turn + 1) * TURN_SAMPLES]
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(pcm).reshape(1, -1), format="s16", layout="stereo")
            frame.sample_rate, frame.pts, frame.time_base = SAMPLE_RATE, turn * TURN_SAMPLES, Fraction(1, SAMPLE_RATE)
            container.mux(audio.encode(frame))
            if video is not None:
                picture = _video_frame(tracks.frames[turn], size)
                picture.pts, picture.time_base = turn, Fraction(1, 5)
                container.mux(video.encode(picture))
            while subtitles is not None and cues and cues[0].start_ms < (turn + 1) * TURN_MS:
                container.mux(_subtitle_packet(subtitles, cues.pop(0)))
        container.mux(audio.encode(None))
        if video is not None:
            container.mux(video.encode(None))
