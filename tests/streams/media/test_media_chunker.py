"""AudioChunker: exact turn-sized pieces, samples conserved, for any way the input is split."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.media import CHUNK_SAMPLES, TURN_MS, AudioChunker, AudioPiece

frame_sizes = st.lists(
    st.one_of(
        st.integers(0, 64),
        st.integers(0, 2 * CHUNK_SAMPLES + 5),
        st.sampled_from([CHUNK_SAMPLES - 1, CHUNK_SAMPLES, CHUNK_SAMPLES + 1, 160, 320, 1024]),
    ),
    max_size=25,
)


def chunk_all(sizes: list[int], seed: int = 0) -> tuple[npt.NDArray[Any], list[AudioPiece]]:
    signal = np.random.default_rng(seed).integers(-32768, 32768, sum(sizes), dtype=np.int16)
    chunker, pieces, start = AudioChunker(), [], 0
    for size in sizes:
        pieces += chunker.push(signal[start : start + size])
        start += size
    return signal, pieces + chunker.finish()


@settings(max_examples=200, deadline=None)
@given(sizes=frame_sizes, seed=st.integers(0, 2**32 - 1))
def test_samples_are_conserved_in_exact_turns(sizes: list[int], seed: int) -> None:
    signal, pieces = chunk_all(sizes, seed)
    assert len(pieces) == math.ceil(len(signal) / CHUNK_SAMPLES)
    rebuilt = np.concatenate([p.samples[: p.valid_samples] for p in pieces] or [signal[:0]])
    np.testing.assert_array_equal(rebuilt, signal)
    for k, piece in enumerate(pieces):
        assert piece.turn == k
        assert piece.start_ms == TURN_MS * k
        assert piece.samples.shape == (CHUNK_SAMPLES,) and piece.samples.dtype == np.int16
        assert not piece.samples.flags.writeable
        final = k == len(pieces) - 1
        assert piece.valid_samples == (len(signal) - CHUNK_SAMPLES * k if final else CHUNK_SAMPLES)
        assert piece.padded == (piece.valid_samples < CHUNK_SAMPLES)
        assert piece.last == (final and piece.padded)  # a full final piece cannot be known
        assert not piece.samples[piece.valid_samples :].any()


@settings(max_examples=100, deadline=None)
@given(first=frame_sizes, second=frame_sizes)
def test_output_does_not_depend_on_how_input_is_split(first: list[int], second: list[int]) -> None:
    total = sum(first)
    rest = total - sum(second)
    second = [*second, rest] if rest >= 0 else [total]
    _, a = chunk_all(first)
    _, b = chunk_all(second)
    assert [(p.turn, p.valid_samples, p.padded, p.last) for p in a] == [
        (p.turn, p.valid_samples, p.padded, p.last) for p in b
    ]
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.samples, y.samples)


def test_pushed_array_is_copied() -> None:
    chunker = AudioChunker()
    buffer = np.full(CHUNK_SAMPLES + 10, 7, dtype=np.int16)
    (piece,) = chunker.push(buffer)
    buffer[:] = 0
    assert (piece.samples == 7).all()
    (last,) = chunker.finish()
    assert (last.samples[:10] == 7).all() and last.valid_samples == 10


def test_exact_multiple_has_no_padded_piece() -> None:
    chunker = AudioChunker()
    assert len(chunker.push(np.zeros(2 * CHUNK_SAMPLES, dtype=np.int16))) == 2
    assert chunker.finish() == []
    assert chunker.samples_in == 2 * CHUNK_SAMPLES and chunker.next_turn == 2


def test_empty_stream_has_no_pieces() -> None:
    assert AudioChunker().finish() == []


def test_rejects_wrong_input_and_use_after_finish() -> None:
    chunker = AudioChunker()
    with pytest.raises(TypeError, match=r"1-D int16.*float32"):
        chunker.push(np.zeros(10, dtype=np.float32))
    with pytest.raises(TypeError, match=r"shape \(2, 5\)"):
        chunker.push(np.zeros((2, 5), dtype=np.int16))
    chunker.finish()
    with pytest.raises(RuntimeError, match="after finish"):
        chunker.push(np.zeros(10, dtype=np.int16))
