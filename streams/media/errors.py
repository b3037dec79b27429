"""Exceptions of the media layer: one root, one subclass per way a source can fail.

Callers branch on the class or on its `kind` (a stable string that can go into a `SessionEnded`
detail or a dead-letter reason), never on the message. Messages are for humans and name the file,
what was expected and what arrived.

When each is raised:

- `open_media` and the start of `MediaSource.pieces()` raise `EmptyFile`, `CannotOpen`,
  `NotMedia`, `NoMediaStreams` and `UnsupportedCodec` before a single piece is yielded, so a
  caller that catches them has sent nothing for the session yet.
- `TruncatedStream` is raised from inside the `pieces()` iterator, after every piece of what did
  decode has been yielded (the last audio chunk padded and flagged as usual). The session's
  input is then valid but shorter than the file claims to be.
- `TextFormatError` comes from `parse_text_arg` and `read_transcript`; it is also a `ValueError`
  so that argparse `type=` converters report it as a bad argument.
"""

from __future__ import annotations

from typing import ClassVar

from streams.errors import StreamsError


class MediaError(StreamsError):
    """Root of every error raised by `streams.media`: the input is bad, so a command exits 2."""

    exit_code = 2
    kind: ClassVar[str] = "media"
    """Stable, machine-readable name of the failure (e.g. "truncated")."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path
        """The file the error is about, when there is one."""


class EmptyFile(MediaError):
    """The file exists but holds zero bytes."""

    kind = "empty_file"


class CannotOpen(MediaError):
    """The file could not be opened: missing, a directory, no permission, or an I/O failure."""

    kind = "cannot_open"


class NotMedia(MediaError):
    """The bytes are not a container that PyAV recognises (or its header is unreadable)."""

    kind = "not_media"


class NoMediaStreams(MediaError):
    """The container holds no audio and no (non cover-art) video stream."""

    kind = "no_media_streams"


class UnsupportedCodec(MediaError):
    """An audio or video stream is present but this PyAV build has no decoder for it."""

    kind = "unsupported_codec"


class TruncatedStream(MediaError):
    """Decoding stopped before the end the container declares (cut file, corrupt packets)."""

    kind = "truncated"

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        decoded_ms: int | None = None,
        declared_ms: int | None = None,
    ) -> None:
        super().__init__(message, path=path)
        self.decoded_ms = decoded_ms
        """How much of the stream decoded, in ms of source media (None if unknown)."""
        self.declared_ms = declared_ms
        """How long the container said the stream was, in ms (None if it did not say)."""


class TextFormatError(MediaError, ValueError):
    """A text argument or a transcript line is malformed; the message names the line."""

    kind = "bad_text"
