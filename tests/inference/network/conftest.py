"""Fixtures for the interaction network tests: one seeded tiny model per run, one CPU thread."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

from inference.network import CONFIGS, InteractionNetwork


@pytest.fixture(scope="session", autouse=True)
def _one_thread() -> Iterator[None]:
    """The model's per-session ops are tiny; with several OpenMP threads on a busy 2-core machine
    the barriers cost far more than the work. Restored after the run."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def tiny() -> InteractionNetwork:
    """Seeded (untrained) tiny model shared by the tests; tests must not change its weights."""
    return InteractionNetwork.seeded(CONFIGS["tiny"], seed=0)
