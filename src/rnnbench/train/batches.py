"""Splits as tensors, seeded subsamples, and the per-epoch batch order.

The shuffle order of epoch ``e`` depends only on (seed, e), never on how many random
numbers earlier epochs drew, so a run resumed at epoch ``e`` sees the same batches as an
uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from rnnbench.data.arrays import Split, subsample_rows

# The train and eval subsample streams (1, 2) live with subsample_rows in data.arrays.
_SHUFFLE_STREAM = 3


@dataclass
class SplitTensors:
    x: torch.Tensor
    lengths: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return int(self.x.shape[0])


def subsample(split: Split, n: int | None, seed: int, *, train: bool) -> Split:
    """At most ``n`` rows drawn without replacement (seeded), in their original order
    (:func:`rnnbench.data.arrays.subsample_rows`, which the baselines use too)."""
    rows = subsample_rows(len(split), n, seed, train=train)
    return split if rows is None else split.rows(rows)


def to_tensors(split: Split, device: torch.device) -> SplitTensors:
    x = torch.from_numpy(np.ascontiguousarray(split.x))
    # Token ids arrive as int32 to keep the .npz small; embeddings want int64.
    x = x.float() if x.is_floating_point() else x.long()
    return SplitTensors(
        x=x.to(device),
        lengths=torch.from_numpy(split.lengths.astype(np.int64)).to(device),
        y=torch.from_numpy(split.y.astype(np.int64)).to(device),
    )


def epoch_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The permutation of ``n`` training rows for ``epoch`` (1-based)."""
    state = np.random.SeedSequence([seed, _SHUFFLE_STREAM, epoch]).generate_state(1, np.uint64)
    generator = torch.Generator().manual_seed(int(state[0]))
    return torch.randperm(n, generator=generator)


def batches(
    data: SplitTensors, batch_size: int, order: torch.Tensor | None = None
) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """(x, lengths, y) batches in ``order`` (default: row order); the last may be short."""
    n = len(data)
    if order is not None:
        order = order.to(data.x.device)
    for start in range(0, n, batch_size):
        if order is None:
            rows: slice | torch.Tensor = slice(start, start + batch_size)
        else:
            rows = order[start : start + batch_size]
        yield data.x[rows], data.lengths[rows], data.y[rows]
