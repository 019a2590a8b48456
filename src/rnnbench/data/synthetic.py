"""Seed B's long-range memory task.

Each sample is a sequence of N(0, 1) scalars; at one fixed position the value is
replaced by +1.0 (class 1) or -1.0 (class 0). A model must recall that sign at the end.
"""

from __future__ import annotations

import numpy as np

from rnnbench.data.arrays import Split

SPLIT_STREAMS = {"train": 0, "validation": 1, "test": 2}


def generate_memory_split(n: int, length: int, signal_index: int, seed: int, split: str) -> Split:
    """Deterministic for (seed, split, length); classes exactly balanced (n // 2 of class 1)."""
    rng = np.random.default_rng([seed, SPLIT_STREAMS[split], length])
    x = rng.standard_normal((n, length)).astype(np.float32)
    y = rng.permutation(np.arange(n) < n // 2).astype(np.int64)
    x[:, signal_index] = np.where(y == 1, 1.0, -1.0)
    return Split(x=x, lengths=np.full(n, length, dtype=np.int32), y=y)
