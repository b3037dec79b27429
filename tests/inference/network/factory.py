"""Reproducible turns and sessions for the interaction network tests."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from inference.network import InteractionNetwork, SessionState, TurnInput, TurnOutput

LOUDNESS = (0, 30, 300, 3000, 20000, 1000)
"""Amplitudes (standard deviation of the noise) cycled through by `make_turn`: silence to clipping."""


def make_turn(session: str, turn: int, video_size: int = 80) -> TurnInput:
    """A varied turn that depends only on (session, turn): loudness cycles, video every 3rd turn,
    text every 4th, a background result every 7th."""
    rng = np.random.default_rng([turn, sum(session.encode())])
    amplitude = LOUDNESS[(turn + len(session)) % len(LOUDNESS)]
    audio = (rng.standard_normal(3200) * amplitude).clip(-32768, 32767).astype(np.int16)
    video = rng.integers(0, 256, (video_size, video_size, 3), dtype=np.uint8) if turn % 3 == 0 else None
    text = f"{session} says {turn}".encode() if turn % 4 == 0 else b""
    background = b"lookup result: 42 items found" if turn % 7 == 0 else b""
    return TurnInput(session, turn, audio, video, text, background)


def run_session(
    net: InteractionNetwork, session: str, turns: int, state: SessionState | None = None
) -> list[TurnOutput]:
    """Outputs of turns 0..turns-1 of `session`, one `step` per turn, alone in its batch."""
    state = net.new_state() if state is None else state
    return [net.step([make_turn(session, k)], [state])[0] for k in range(turns)]


def assert_same_outputs(expected: Sequence[TurnOutput], actual: Sequence[TurnOutput]) -> None:
    """Bitwise equality of every field of every output."""
    assert len(expected) == len(actual)
    for k, (want, got) in enumerate(zip(expected, actual, strict=True)):
        assert want.action == got.action, f"turn {k}: action"
        assert want.text == got.text and want.delegate == got.delegate, f"turn {k}: bytes"
        assert np.array_equal(want.audio, got.audio) and got.audio.dtype == np.int16, f"turn {k}: audio"
        assert want == got
