"""The numeric environment the model's bitwise reproducibility depends on, and how it is pinned.

Replay relies on the same weights and inputs giving the same bits. What can still change the bits:

- the torch build and the CPU instruction set (MKL and oneDNN pick kernels by ISA): record them
  beside the model version when a replay must be exact across machines;
- the number of intra-op threads: MKL splits some matrix products differently with 2 threads than
  with 1 (seen here for a [10, 64] x [64, 64] product). `single_thread` removes this one: on CPU
  every model call runs with one intra-op thread and restores the caller's setting afterwards.
  The per-session work is far too small to split anyway; on a busy machine several OpenMP threads
  make a tiny-model turn ten times slower.

GPU calls are left alone (cuBLAS picks its kernels by shape, not by host threads).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


@contextlib.contextmanager
def single_thread(device: torch.device) -> Iterator[None]:
    """Run the block with one intra-op thread when `device` is the CPU. Not for concurrent use
    from several Python threads of one process (the setting is process-wide)."""
    previous = torch.get_num_threads()
    if device.type != "cpu" or previous == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
