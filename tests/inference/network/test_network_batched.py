"""The batched `step` (batched.py) against each session run alone: bitwise, in random company.

Sessions of the trained checkpoint (which listens, speaks, backchannels and delegates) start at
different times, skip ticks, and share steps of 1..9 sessions in shuffled order; with a 60-token
window their caches fill, grow through several capacities and evict. Every output must equal the
output of the same session stepped alone, bit for bit.
"""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from pathlib import Path

import pytest

from inference.network import Action, InteractionNetwork, SessionState, TurnInput, TurnOutput, load_checkpoint
from inference.network.batched import padded_tokens
from inference.training.data import demo_session, generate_sessions
from tests.inference.network.factory import assert_same_outputs, make_turn

CHECKPOINT = Path(__file__).resolve().parents[3] / "inference" / "checkpoints" / "tiny-v1.pt"
TURNS = 36


@pytest.fixture(scope="module")
def trained_small_window() -> InteractionNetwork:
    """tiny-v1's weights with a 60-token window, so sessions evict within a few dozen turns."""
    trained = load_checkpoint(CHECKPOINT)
    net = InteractionNetwork(dataclasses.replace(trained.config, window_tokens=60))
    net.load_state_dict(trained.state_dict())
    return net.eval()


def _sessions(net: InteractionNetwork) -> dict[str, list[TurnInput]]:
    """Nine sessions' turns: the scripted demo (tool requests, background results, speech) from
    several offsets, and generated sessions with audio, video, typed text and late starts."""
    demo = [t.input for t in demo_session(net.config, seed=0).turns]
    generated = [[t.input for t in s.turns] for s in generate_sessions(net.config, 3, 0, 4)]
    sources = [demo, demo[7:], demo[19:], *generated, [make_turn("varied", k) for k in range(TURNS)]]
    sessions = {}
    for i, source in enumerate(sources):
        name = f"session-{i}"
        turns = source[:TURNS]
        sessions[name] = [dataclasses.replace(item, session_key=name, turn=k) for k, item in enumerate(turns)]
    return sessions


def _alone(net: InteractionNetwork, turns: list[TurnInput]) -> tuple[list[TurnOutput], SessionState]:
    state = net.new_state()
    return [net.step([item], [state])[0] for item in turns], state


def test_random_batches_equal_each_session_alone(trained_small_window: InteractionNetwork) -> None:
    net = trained_small_window
    sessions = _sessions(net)
    alone = {name: _alone(net, turns) for name, turns in sessions.items()}
    rng = random.Random(13)
    start = {name: rng.randrange(0, 12) for name in sessions}
    states = {name: net.new_state() for name in sessions}
    done = dict.fromkeys(sessions, 0)
    got: dict[str, list[TurnOutput]] = {name: [] for name in sessions}
    sizes, tick = Counter[int](), 0
    while any(done[name] < len(turns) for name, turns in sessions.items()):
        due = [n for n, turns in sessions.items() if start[n] <= tick and done[n] < len(turns) and rng.random() < 0.8]
        tick += 1
        if not due:
            continue
        rng.shuffle(due)
        outputs = net.step([sessions[n][done[n]] for n in due], [states[n] for n in due])
        for name, out in zip(due, outputs, strict=True):
            got[name].append(out)
            done[name] += 1
        sizes[len(due)] += 1
    for name in sessions:
        assert_same_outputs(alone[name][0], got[name])
    actions = Counter(out.action for outs, _ in alone.values() for out in outs)
    assert {Action.LISTEN, Action.SPEAK, Action.BACKCHANNEL, Action.DELEGATE} <= set(actions), actions
    assert min(sizes) == 1 and max(sizes) >= 7, sizes
    evicted = [state.cache.evicted > 0 for _, state in alone.values()]
    assert sum(evicted) >= 5, evicted
    assert [state.cache.evicted > 0 for state in states.values()] == evicted


def test_the_batch_mixes_turn_shapes_and_cache_capacities(trained_small_window: InteractionNetwork) -> None:
    """One step over sessions in different shape groups (token counts, cache capacities)."""
    net = trained_small_window
    sessions = _sessions(net)
    names = sorted(sessions)
    depth = {name: 3 * i for i, name in enumerate(names)}  # 0..24 turns of history
    states = {}
    for name in names:
        _, states[name] = _alone(net, sessions[name][: depth[name]])
    expected = {}
    for name in names:
        scratch = net.new_state()
        for item in sessions[name][: depth[name]]:
            net.step([item], [scratch])
        expected[name] = net.step([sessions[name][depth[name]]], [scratch])[0]
    items = [sessions[name][depth[name]] for name in names]
    shapes = {
        (padded_tokens(net.embedder.token_count(item)), states[n].cache.capacity)
        for n, item in zip(names, items, strict=True)
    }
    assert len(shapes) >= 3, shapes
    outputs = net.step(items, [states[name] for name in names])
    assert_same_outputs([expected[name] for name in names], outputs)
