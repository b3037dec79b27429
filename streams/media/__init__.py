"""The pure media layer of ingest: any file PyAV reads, cut into 200 ms micro-turn pieces.

`open_media(path)` probes a file and raises every up-front failure (`streams.media.errors`);
`MediaSource.pieces()` decodes it in one streaming pass into `AudioPiece`s (exactly 3200
samples of 16 kHz mono int16 per turn) and `VideoPiece`s (one small JPEG per turn) in
session-clock order. Text input comes from `parse_text_arg` and `read_transcript`.
`AudioChunker` is the pure cutter, reusable for live audio.
"""

from streams.media.chunker import AudioChunker
from streams.media.errors import MediaError
from streams.media.pieces import CHUNK_SAMPLES, SAMPLE_RATE, TURN_MS, AudioPiece, VideoPiece
from streams.media.source import MediaSource, open_media
from streams.media.text import TextLine, parse_text_arg, read_transcript
from streams.media.video import decode_jpeg

__all__ = [
    "CHUNK_SAMPLES",
    "SAMPLE_RATE",
    "TURN_MS",
    "AudioChunker",
    "AudioPiece",
    "MediaError",
    "MediaSource",
    "TextLine",
    "VideoPiece",
    "decode_jpeg",
    "open_media",
    "parse_text_arg",
    "read_transcript",
]
