"""Determinism: batch invariance, and identical outputs from identical weights in any process."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from inference.network import CONFIGS, InteractionNetwork, load_checkpoint, save_checkpoint
from tests.inference.network.factory import assert_same_outputs, make_turn, run_session

SESSIONS = ("solo", "x", "yy", "zzz")
TURNS = 10


def test_a_session_alone_equals_it_in_shuffled_batches(tiny: InteractionNetwork) -> None:
    alone = run_session(tiny, "solo", TURNS)
    states = {name: tiny.new_state() for name in SESSIONS}
    batched = []
    shuffle = random.Random(5)
    for k in range(TURNS):
        order = list(SESSIONS)
        shuffle.shuffle(order)
        outputs = tiny.step([make_turn(name, k) for name in order], [states[name] for name in order])
        batched.append(outputs[order.index("solo")])
    assert_same_outputs(alone, batched)
    assert {out.action for out in alone} != {alone[0].action}, "expected the session to change action"


def test_batch_size_and_company_do_not_matter(tiny: InteractionNetwork) -> None:
    """The other sessions in the batch may be at any turn, with any inputs, any number of them."""
    alone = run_session(tiny, "solo", 4)
    solo, others = tiny.new_state(), [tiny.new_state() for _ in range(6)]
    for warm, state in enumerate(others):
        run_session(tiny, f"other{warm}", warm + 1, state)
    mixed = []
    for k in range(4):
        company = others[: 2 * k]
        items = [make_turn(f"other{i}", i + 1 + k) for i in range(len(company))]
        mixed.append(tiny.step([*items, make_turn("solo", k)], [*company, solo])[-1])
    assert_same_outputs(alone, mixed)


def test_two_models_from_one_checkpoint_agree(tiny: InteractionNetwork, tmp_path: Path) -> None:
    save_checkpoint(tiny, tmp_path / "tiny.pt")
    first, second = load_checkpoint(tmp_path / "tiny.pt"), load_checkpoint(tmp_path / "tiny.pt")
    assert_same_outputs(run_session(first, "ckpt", 8), run_session(second, "ckpt", 8))
    assert_same_outputs(run_session(tiny, "ckpt", 8), run_session(first, "ckpt", 8))


_CHILD = """
import hashlib, sys, torch
torch.set_num_threads(1)
from inference.network import load_checkpoint
from tests.inference.network.factory import run_session
net = load_checkpoint(sys.argv[1])
digest = hashlib.sha256()
for out in run_session(net, "process", 8):
    digest.update(bytes([out.action]) + out.text + out.delegate + out.audio.tobytes())
print(net.digest, digest.hexdigest())
"""


def test_another_process_computes_the_same_outputs(tiny: InteractionNetwork, tmp_path: Path) -> None:
    save_checkpoint(tiny, tmp_path / "tiny.pt")
    child = subprocess.run(
        [sys.executable, "-c", _CHILD, str(tmp_path / "tiny.pt")],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[3],
        timeout=120,
    )
    digest = __import__("hashlib").sha256()
    for out in run_session(tiny, "process", 8):
        digest.update(bytes([out.action]) + out.text + out.delegate + out.audio.tobytes())
    assert child.stdout.split() == [tiny.digest, digest.hexdigest()]


def test_the_batched_fast_path_agrees_up_to_rounding(tiny: InteractionNetwork) -> None:
    """`step_fast` (benchmarks only) does the same work batched: same decisions, audio within a few
    LSB; not guaranteed bitwise, which is why `step` does not batch."""
    names = [f"fast{i}" for i in range(5)]
    exact, fast = [tiny.new_state() for _ in names], [tiny.new_state() for _ in names]
    for k in range(6):
        items = [make_turn(name, k) for name in names]
        for want, got in zip(tiny.step(items, exact), tiny.step_fast(items, fast), strict=True):
            assert (want.action, want.text, want.delegate) == (got.action, got.text, got.delegate)
            assert np.abs(want.audio.astype(np.int32) - got.audio.astype(np.int32)).max() <= 4


def test_the_hosts_thread_setting_does_not_change_the_bits(tiny: InteractionNetwork) -> None:
    """MKL splits some products differently with 2 threads; model calls pin one (numerics.py)."""
    reference = run_session(tiny, "threads", 6)
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        assert_same_outputs(reference, run_session(tiny, "threads", 6))
        assert torch.get_num_threads() == 2, "the caller's setting is restored"
        assert InteractionNetwork.seeded(CONFIGS["tiny"], seed=0).digest == tiny.digest
    finally:
        torch.set_num_threads(previous)
