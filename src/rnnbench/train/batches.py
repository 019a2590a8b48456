"""Splits as tensors, seeded subsamples, and the per-epoch batch order.

The shuffle order of epoch ``e`` depends only on (seed, e), never on how many random
numbers earlier epochs drew, so a run resumed at epoch ``e`` sees the same batches as an
uninterrupted one.

``hparams.batching`` picks how an epoch's rows are cut into batches (:func:`epoch_batches`):

- ``"shuffled"`` (default): consecutive ``batch_size`` rows of the epoch's permutation;
- ``"by_length"``: the permutation is cut into windows of ``BUCKET_WINDOW`` batches;
  within a window the rows are sorted by length (stable) and cut into batches, and the
  order of all the epoch's batches is then shuffled (seeded from (seed, epoch) too).
  Rows of similar length share a batch, so the recurrent kernels, which run
  max(lengths in the batch) steps, waste little on padding. It changes which rows share
  a batch, hence the numbers: opt-in.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from rnnbench.data.arrays import Split, subsample_rows
from rnnbench.experiment.spec import BATCHINGS

# The train and eval subsample streams (1, 2) live with subsample_rows in data.arrays.
_SHUFFLE_STREAM = 3
_BUCKET_STREAM = 4  # the order of the length-bucketed batches
BUCKET_WINDOW = 50  # batches per window of the permutation sorted by length


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


def _generator(seed: int, stream: int, epoch: int) -> torch.Generator:
    state = np.random.SeedSequence([seed, stream, epoch]).generate_state(1, np.uint64)
    return torch.Generator().manual_seed(int(state[0]))


def epoch_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The permutation of ``n`` training rows for ``epoch`` (1-based)."""
    return torch.randperm(n, generator=_generator(seed, _SHUFFLE_STREAM, epoch))


def epoch_batches(
    lengths: torch.Tensor,
    batch_size: int,
    seed: int,
    epoch: int,
    batching: str = "shuffled",
    window: int = BUCKET_WINDOW,
) -> tuple[torch.Tensor, list[int]]:
    """``(order, sizes)`` of ``epoch``: the rows of the epoch's batches one after the other,
    and each batch's size (see the module doc for ``batching``). Every row comes exactly
    once; the result depends only on (lengths, batch_size, seed, epoch, batching, window).
    ``lengths`` is read on the host (one copy per epoch if it lives on a GPU)."""
    if batching not in BATCHINGS:
        raise ValueError(f"batching must be one of {list(BATCHINGS)}, got {batching!r}")
    n = len(lengths)
    order = epoch_order(n, seed, epoch)
    sizes = [min(batch_size, n - start) for start in range(0, n, batch_size)]
    if batching == "shuffled":
        return order, sizes
    host = lengths.cpu()
    groups: list[torch.Tensor] = []
    for start in range(0, n, batch_size * window):
        rows = order[start : start + batch_size * window]
        by_length = rows[torch.sort(host[rows], stable=True).indices]
        groups.extend(by_length.split(batch_size))
    shuffle = torch.randperm(len(groups), generator=_generator(seed, _BUCKET_STREAM, epoch))
    picked = [groups[i] for i in shuffle.tolist()]
    return torch.cat(picked) if picked else order, [len(g) for g in picked]


def batches(
    data: SplitTensors,
    batch_size: int,
    order: torch.Tensor | None = None,
    sizes: list[int] | None = None,
) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """(x, lengths, y) batches in ``order`` (default: row order); the last may be short.
    With ``sizes`` (from :func:`epoch_batches`), batch i is the next ``sizes[i]`` rows of
    ``order`` instead. The order moves to the data's device once, not per batch."""
    n = len(data)
    if order is not None:
        order = order.to(data.x.device)
    if sizes is None:
        sizes = [min(batch_size, n - start) for start in range(0, n, batch_size)]
    start = 0
    for size in sizes:
        if order is None:
            rows: slice | torch.Tensor = slice(start, start + size)
        else:
            rows = order[start : start + size]
        start += size
        yield data.x[rows], data.lengths[rows], data.y[rows]
