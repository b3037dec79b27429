"""Cutting a stream of 16 kHz mono samples into exact turn-sized audio pieces.

`AudioChunker` is pure (no I/O, no clock): it is used for decoded files here and is meant to be
reused by live ingress, where audio arrives in network-sized frames of any length.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from streams.media.pieces import CHUNK_SAMPLES, AudioPiece


class AudioChunker:
    """Accumulates int16 mono samples and hands out one `AudioPiece` per full turn.

    Piece k holds samples ``[CHUNK_SAMPLES * k, CHUNK_SAMPLES * (k + 1))`` of everything pushed,
    so it starts at ``200 * k`` ms on the session clock. Samples are conserved: concatenating the
    pieces and dropping the padding of the last one gives back exactly the pushed samples, and
    ``ceil(n / CHUNK_SAMPLES)`` pieces come out for n samples.

    Call `push` as samples arrive and `finish` once at the end of the stream. Pieces are handed
    out as soon as they are full (no look-ahead, so no added latency); hence a stream that fills
    its last turn exactly has its final piece returned by `push`, not flagged `last`, and
    `finish` returns nothing. `MediaSource.pieces()` holds one piece back to flag it.
    """

    def __init__(self) -> None:
        self._buffer = np.zeros(CHUNK_SAMPLES, dtype=np.int16)
        self._fill = 0
        self._next_turn = 0
        self._samples_in = 0
        self._finished = False

    @property
    def samples_in(self) -> int:
        """Samples pushed so far."""
        return self._samples_in

    @property
    def next_turn(self) -> int:
        """The turn of the next piece to be handed out."""
        return self._next_turn

    def push(self, samples: npt.NDArray[np.int16]) -> list[AudioPiece]:
        """Add samples (a 1-D int16 array of any length) and return the pieces they completed.

        Called whenever new audio arrives; the array is copied, so the caller may reuse it.
        Raises TypeError for anything but 1-D int16, RuntimeError after `finish`.
        """
        if self._finished:
            raise RuntimeError("AudioChunker.push() called after finish()")
        if samples.dtype != np.int16 or samples.ndim != 1:
            raise TypeError(
                "AudioChunker.push() expects a 1-D int16 array of 16 kHz mono samples; "
                f"got dtype {samples.dtype} with shape {samples.shape}"
            )
        count = len(samples)
        self._samples_in += count
        pieces: list[AudioPiece] = []
        pos = 0
        if self._fill:
            pos = min(CHUNK_SAMPLES - self._fill, count)
            self._buffer[self._fill : self._fill + pos] = samples[:pos]
            self._fill += pos
            if self._fill < CHUNK_SAMPLES:
                return pieces
            pieces.append(self._piece(self._buffer.copy(), CHUNK_SAMPLES))
            self._fill = 0
        while count - pos >= CHUNK_SAMPLES:
            pieces.append(self._piece(samples[pos : pos + CHUNK_SAMPLES].copy(), CHUNK_SAMPLES))
            pos += CHUNK_SAMPLES
        rest = count - pos
        if rest:
            self._buffer[:rest] = samples[pos:]
            self._fill = rest
        return pieces

    def finish(self) -> list[AudioPiece]:
        """End the stream: return the partial last turn, padded with silence, if there is one.

        Called once, after the last `push`. The returned piece (at most one) has
        ``padded=True``, ``last=True`` and ``valid_samples`` < CHUNK_SAMPLES. Calling it again
        returns nothing.
        """
        if self._finished or not self._fill:
            self._finished = True
            return []
        self._finished = True
        samples = np.zeros(CHUNK_SAMPLES, dtype=np.int16)
        samples[: self._fill] = self._buffer[: self._fill]
        return [self._piece(samples, self._fill, last=True)]

    def _piece(self, samples: npt.NDArray[np.int16], valid: int, *, last: bool = False) -> AudioPiece:
        samples.flags.writeable = False
        piece = AudioPiece(
            turn=self._next_turn,
            samples=samples,
            valid_samples=valid,
            padded=valid < CHUNK_SAMPLES,
            last=last,
        )
        self._next_turn += 1
        return piece
