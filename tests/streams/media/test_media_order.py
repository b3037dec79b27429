"""TurnOrder: whole turns in session-clock order, whatever the container's interleaving."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.media import CHUNK_SAMPLES, AudioPiece, VideoPiece
from streams.media.order import TurnOrder
from streams.media.pieces import Piece


def audio(turn: int, valid: int = CHUNK_SAMPLES) -> AudioPiece:
    return AudioPiece(turn, np.zeros(CHUNK_SAMPLES, np.int16), valid, valid < CHUNK_SAMPLES)


def video(turn: int) -> VideoPiece:
    return VideoPiece(turn, b"jpeg", 80, 80, 200 * turn)


def kinds(pieces: list[Piece]) -> list[tuple[int, str]]:
    return [(p.turn, "a" if isinstance(p, AudioPiece) else "v") for p in pieces]


def no_video(turns: int) -> list[VideoPiece]:
    return []


@settings(max_examples=100, deadline=None)
@given(arrivals=st.lists(st.booleans(), min_size=0, max_size=40), n=st.integers(1, 12))
def test_any_interleaving_gives_video_then_audio_per_turn(arrivals: list[bool], n: int) -> None:
    order = TurnOrder(True, True, no_video)
    pending_a, pending_v = [audio(k) for k in range(n)], [video(k) for k in range(n)]
    out: list[Piece] = []
    for take_audio in arrivals:  # the container delivers the kinds in any order
        if take_audio and pending_a:
            order.add_audio([pending_a.pop(0)])
        elif not take_audio and pending_v:
            order.add_video([pending_v.pop(0)])
        out += order.ready()
    order.add_audio(pending_a)
    order.add_video(pending_v)
    order.end_audio()
    order.end_video()
    out += order.finish()
    assert kinds(out) == [(k, kind) for k in range(n) for kind in "va"]
    assert [p.last for p in out if isinstance(p, AudioPiece)] == [False] * (n - 1) + [True]


def test_one_audio_piece_is_held_back_to_flag_the_last() -> None:
    order = TurnOrder(True, False, no_video)
    order.add_audio([audio(0), audio(1)])
    assert kinds(list(order.ready())) == [(0, "a")]
    order.end_audio()
    (final,) = order.finish()
    assert isinstance(final, AudioPiece)
    assert final.turn == 1 and final.last and not final.padded


def test_ended_video_repeats_through_the_extender() -> None:
    calls: list[int] = []

    def extend(turns: int) -> list[VideoPiece]:
        calls.append(turns)
        return [video(turns - 1)]

    order = TurnOrder(True, True, extend)
    order.add_video([video(0)])
    order.end_video()
    order.add_audio([audio(0), audio(1), audio(2, valid=10)])
    order.end_audio()
    assert kinds(list(order.finish())) == [(0, "v"), (0, "a"), (1, "v"), (1, "a"), (2, "v"), (2, "a")]
    assert calls == [2, 3]


def test_video_without_frames_leaves_audio_alone() -> None:
    order = TurnOrder(True, True, no_video)
    order.add_audio([audio(0), audio(1, valid=5)])
    order.end_video()
    order.end_audio()
    assert kinds(list(order.finish())) == [(0, "a"), (1, "a")]


def test_audio_that_decoded_nothing_hands_the_clock_to_video() -> None:
    order = TurnOrder(True, True, no_video)
    order.add_video([video(0), video(1)])
    order.end_video()
    order.end_audio()
    assert kinds(list(order.finish())) == [(0, "v"), (1, "v")]


def test_video_beyond_the_audio_is_dropped() -> None:
    order = TurnOrder(True, True, no_video)
    order.add_video([video(k) for k in range(5)])
    order.add_audio([audio(0), audio(1, valid=7)])
    order.end_audio()
    order.end_video()
    assert kinds(list(order.ready()) + list(order.finish())) == [(0, "v"), (0, "a"), (1, "v"), (1, "a")]
