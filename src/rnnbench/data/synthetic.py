"""Seed B's long-range memory task.

Each sample is a sequence of N(0, 1) scalars; at one fixed position the value is
replaced by +1.0 (class 1) or -1.0 (class 0). A model must recall that sign at the end.

The value +-1 lies inside the noise's range, so a model must also count steps to find
the signal. The *marker variant* (``synthetic.marker: true``) adds a second input
channel that is 1 at the signal step and 0 elsewhere, so that no model needs to count:
the classic setup of Hochreiter & Schmidhuber (1997). Its first channel is exactly the
plain task's sequence (same seed, same values), so the two variants differ only in the
marker and a side-by-side run shows how much of a failure comes from counting.
"""

from __future__ import annotations

import numpy as np

from rnnbench.data.arrays import Split

SPLIT_STREAMS = {"train": 0, "validation": 1, "test": 2}
VALUE, MARKER = 0, 1  # the marker variant's channels: [N, L, 2]


def generate_memory_split(
    n: int, length: int, signal_index: int, seed: int, split: str, *, marker: bool = False
) -> Split:
    """Deterministic for (seed, split, length); classes exactly balanced (n // 2 of class 1).

    ``x`` is ``float32 [n, length]``, or ``[n, length, 2]`` with ``marker`` (channel 0 the
    values, channel 1 the marker)."""
    rng = np.random.default_rng([seed, SPLIT_STREAMS[split], length])
    x = rng.standard_normal((n, length)).astype(np.float32)
    y = rng.permutation(np.arange(n) < n // 2).astype(np.int64)
    x[:, signal_index] = np.where(y == 1, 1.0, -1.0)
    if marker:
        flags = np.zeros_like(x)
        flags[:, signal_index] = 1.0
        x = np.stack([x, flags], axis=-1)
    return Split(x=x, lengths=np.full(n, length, dtype=np.int32), y=y)


def input_channels(synthetic: dict) -> int:
    """Input features per step of a memory dataset: 2 for the marker variant, else 1."""
    return 2 if synthetic.get("marker") else 1
