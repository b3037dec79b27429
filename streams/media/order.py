"""Releasing audio and video pieces in session-clock order, one whole turn at a time.

Containers interleave audio and video only roughly, and a video turn is decided only once a
frame after its start has been decoded, so pieces of each kind are queued here until their turn
is complete. Within a turn the video piece comes first, then the audio piece.

Memory: the queues hold the container's audio/video interleaving skew (typically well under a
second), or, for sparse video (a still image over long audio), the audio up to the next frame:
at worst all of the audio, 115 MB an hour at 16 kHz int16.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable, Iterator

from streams.media.pieces import AudioPiece, Piece, VideoPiece

VideoExtender = Callable[[int], list[VideoPiece]]
"""Returns video pieces for every undecided turn below the given one (repeating a frame)."""


class TurnOrder:
    """Queues pieces per kind and releases each turn once all of its pieces are known.

    With audio, audio is the clock: the session has as many turns as audio pieces, video turns
    beyond them are dropped and, once the video stream has ended, its last frame is repeated for
    the remaining audio turns. Without audio, the video timeline alone decides the turns. One
    audio piece is always held back until the next arrives or audio ends, so that the final one
    can be flagged `last` even when it is full.
    """

    def __init__(self, has_audio: bool, has_video: bool, extend_video: VideoExtender) -> None:
        self._has_audio = has_audio
        self._has_video = has_video
        self._extend_video = extend_video
        self._audio: deque[AudioPiece] = deque()
        self._video: deque[VideoPiece] = deque()
        self._audio_ended = not has_audio
        self._video_ended = not has_video
        self._next_turn = 0

    def add_audio(self, pieces: list[AudioPiece]) -> None:
        """Queue audio pieces, in turn order, as the chunker hands them out."""
        self._audio.extend(pieces)

    def add_video(self, pieces: list[VideoPiece]) -> None:
        """Queue video pieces, in turn order, as the frame sampler decides them."""
        self._video.extend(pieces)

    def end_audio(self) -> None:
        """The audio stream is over (all its pieces added): flag the final piece `last`."""
        self._audio_ended = True
        if self._audio:  # never empty when audio existed: one piece is always held back
            self._audio[-1] = dataclasses.replace(self._audio[-1], last=True)

    def end_video(self) -> None:
        """The video stream is over; from now on missing video turns repeat its last frame."""
        self._video_ended = True

    def ready(self) -> Iterator[Piece]:
        """Release every turn whose pieces are all known, video before audio within a turn."""
        while self._turn_ready():
            yield from self._release()

    def finish(self) -> Iterator[Piece]:
        """Release everything left; called once, after both streams have ended."""
        if not self._audio_ended:
            self.end_audio()
        self._video_ended = True
        if self._has_audio and (self._audio or self._next_turn):
            yield from self.ready()
            self._video.clear()  # video longer than audio: audio is the clock
        else:  # video only, or an audio stream that decoded nothing
            self._has_audio = False
            yield from self.ready()

    def _turn_ready(self) -> bool:
        turn = self._next_turn
        if self._has_audio:
            held_back = len(self._audio) < (1 if self._audio_ended else 2)
            if held_back or self._audio[0].turn != turn:
                return False
        if self._has_video and not self._video:
            if not (self._video_ended and self._has_audio):
                return False  # wait for the frame sampler, or the video timeline is over
            self._video.extend(self._extend_video(turn + 1))  # empty if no frame decoded at all
        return self._has_audio or bool(self._video)

    def _release(self) -> Iterator[Piece]:
        turn = self._next_turn
        if self._video and self._video[0].turn == turn:
            yield self._video.popleft()
        if self._has_audio:
            yield self._audio.popleft()
        self._next_turn += 1
