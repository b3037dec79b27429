"""Output contract of `InteractionNetwork.step`: types, shapes, which fields each action fills."""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import torch

from inference.network import CONFIGS, Action, InteractionNetwork, TurnInput, TurnOutput
from tests.inference.network.factory import run_session


def test_outputs_have_the_contract_types_and_shapes(tiny: InteractionNetwork) -> None:
    for out in run_session(tiny, "shapes", 12):
        assert isinstance(out, TurnOutput)
        assert isinstance(out.action, Action)
        assert isinstance(out.text, bytes) and isinstance(out.delegate, bytes)
        assert isinstance(out.audio, np.ndarray) and out.audio.dtype == np.int16 and out.audio.shape == (3200,)


def test_fields_follow_the_action(tiny: InteractionNetwork) -> None:
    outputs = [out for session in ("a", "bb", "ccc") for out in run_session(tiny, session, 30)]
    for out in outputs:
        speaking = out.action in (Action.SPEAK, Action.BACKCHANNEL)
        assert (np.count_nonzero(out.audio) > 0) == speaking
        assert len(out.text) <= CONFIGS["tiny"].max_text_out and (speaking or out.text == b"")
        assert len(out.delegate) <= CONFIGS["tiny"].max_delegate_out
        assert (out.action is Action.DELEGATE) or out.delegate == b""
    counts = Counter(out.action for out in outputs)
    assert counts[Action.SPEAK] >= 5 and counts[Action.LISTEN] >= 5, counts
    assert any(out.text for out in outputs)


def test_seeded_action_follows_loudness(tiny: InteractionNetwork) -> None:
    """Seeded init is calibrated so silence -> SPEAK and loud input -> LISTEN (see seeding.py)."""
    state, rng = tiny.new_state(), np.random.default_rng(7)
    actions = {}
    for k in range(24):
        loud = k % 4 in (1, 2)
        audio = (rng.standard_normal(3200) * (8000 if loud else 0)).astype(np.int16)
        actions[k] = (loud, tiny.step([TurnInput("loudness", k, audio, None, b"", b"")], [state])[0].action)
    assert sum(action is Action.LISTEN for loud, action in actions.values() if loud) >= 10
    assert sum(action is Action.SPEAK for loud, action in actions.values() if not loud) >= 10


def test_text_only_session_runs(tiny: InteractionNetwork) -> None:
    state = tiny.new_state()
    for k in range(5):
        out = tiny.step([TurnInput("chat", k, None, None, "héllo".encode() * 10, b"")], [state])[0]
        assert out.audio.shape == (3200,)
    assert state.turns_seen == 5


def test_version_names_config_and_digest(tiny: InteractionNetwork) -> None:
    assert re.fullmatch(r"[0-9a-f]{64}", tiny.digest)
    assert tiny.version == f"tiny-{tiny.digest[:12]}"


def test_base_config_is_large_and_runs_a_turn() -> None:
    net = InteractionNetwork(CONFIGS["base"])
    assert sum(p.numel() for p in net.parameters()) >= 100_000_000
    with torch.no_grad():
        for param in net.parameters():
            param.normal_(0.0, 0.02, generator=torch.Generator().manual_seed(0))
    rng = np.random.default_rng(0)
    item = TurnInput(
        "base",
        0,
        rng.integers(-3000, 3000, 3200).astype(np.int16),
        rng.integers(0, 256, (160, 160, 3), dtype=np.uint8),
        b"hi",
        b"",
    )
    out = net.step([item], [net.new_state()])[0]
    assert out.audio.shape == (3200,) and out.audio.dtype == np.int16
