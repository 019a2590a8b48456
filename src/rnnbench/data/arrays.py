"""The encoded dataset file: what the data stage writes and the training job reads.

One ``.npz`` per (dataset, sequence length) at
``results/prepared/<dataset>/len<L>.npz``, holding every split:

- ``<split>_x``: ``int32 [N, L]`` token ids (``<pad>`` = 0, ``<unk>`` = 1) for text
  tasks, ``float32 [N, L]`` scalar values for the memory task (``[N, L, 2]`` for its
  marker variant: the values, then 1 at the signal step; ``meta.input_channels`` = 2);
- ``<split>_lengths``: ``int32 [N]`` number of real (non-padding) positions in each row,
  always >= 1; with ``padding == "post"`` they are the first ``lengths`` positions,
  with ``"pre"`` the last ones;
- ``<split>_y``: ``int64 [N]`` class ids (sentiment, memory) or ``int64 [N, L]`` tag ids
  (NER) with :data:`IGNORE_INDEX` at every padding position;
- NER only, the full gold tags of every sentence, whatever the length cut: ``<split>_full_tags``
  (``int64``, every sentence's tag ids concatenated, untruncated) and
  ``<split>_full_lengths`` (``int32 [N]``, each sentence's full number of tokens). They
  are not model inputs: evaluation scores every sentence in full against them, a token
  cut off by the length counting as predicted ``O`` (see ``rnnbench.metrics.ner_metrics``);
- ``meta``: a JSON string (see :class:`EncodedMeta`).

``<split>`` is ``train``, ``validation`` and ``test``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from rnnbench.io import atomic_path

SPLITS: tuple[str, ...] = ("train", "validation", "test")
IGNORE_INDEX = -100  # torch.nn.CrossEntropyLoss's default ignore_index
# Distinct streams so the train and eval subsamples of one seed are independent.
_TRAIN_STREAM, _EVAL_STREAM = 1, 2


@dataclass(frozen=True)
class EncodedMeta:
    """What a model needs to know about an encoded dataset."""

    dataset: str
    task: str  # "sentiment" | "ner" | "memory"
    length: int
    padding: str  # "post" | "pre"
    truncating: str  # "post" | "pre"
    vocab_size: int  # 0 for the memory task (scalar input)
    num_classes: int  # classes for sentiment/memory, tags for NER
    label_names: list[str] = field(default_factory=list)
    # Memory task: input features per step (2: the marker variant, x is [N, L, 2]).
    input_channels: int = 1
    # Memory task: the 0-based step that holds the sign (None for text tasks).
    signal_index: int | None = None


@dataclass
class Split:
    x: np.ndarray
    lengths: np.ndarray
    y: np.ndarray
    # NER: each sentence's full gold tag ids, before the length cut (None otherwise, or
    # for a file written before they were stored: then only the kept tokens are scored).
    full_tags: list[np.ndarray] | None = None

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def rows(self, index: np.ndarray) -> Split:
        """The rows ``index`` (an integer array), full tags included."""
        full = None if self.full_tags is None else [self.full_tags[i] for i in index.tolist()]
        return Split(x=self.x[index], lengths=self.lengths[index], y=self.y[index], full_tags=full)


def subsample_rows(total: int, n: int | None, seed: int, *, train: bool) -> np.ndarray | None:
    """The sorted row indices of the seeded subsample of ``n`` of ``total`` rows, or None
    when ``n`` keeps every row (``n`` is None or >= ``total``).

    The one definition of the ``train_subsample`` / ``eval_subsample`` hyperparameters:
    training draws its splits with it (``train.batches.subsample``, seed = the run's
    seed), and the baselines draw the very same rows with it (``analysis.baselines``).
    The eval stream serves validation and test alike.
    """
    if n is None or n >= total:
        return None
    rng = np.random.default_rng([seed, _TRAIN_STREAM if train else _EVAL_STREAM])
    return np.sort(rng.choice(total, size=n, replace=False))


# grid.train_sizes: one fixed order of the training rows per dataset, whatever the run seed,
# so that every size's training set is a prefix of every larger one's (nested).
TRAIN_SIZE_SEED = 0
_TRAIN_SIZE_STREAM = 3


class TrainSizeError(ValueError):
    """A training-set size larger than the training split."""


def train_order(y: np.ndarray, seed: int = TRAIN_SIZE_SEED) -> np.ndarray:
    """The order in which grid.train_sizes takes the training rows: a seeded permutation,
    stratified by label where ``y`` holds one label per row (sentiment, memory; NER's
    per-token tags are not stratified). Every prefix of it holds each class in its
    split-wide proportion, to within one row: each class's rows are shuffled and given
    evenly spaced positions ``(i + 0.5) / n_class``; rows are taken in position order."""
    rng = np.random.default_rng([seed, _TRAIN_SIZE_STREAM])
    total = len(y)
    if y.ndim != 1:
        return rng.permutation(total)
    position = np.empty(total, dtype=np.float64)
    for label in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == label))
        position[rows] = (np.arange(len(rows)) + 0.5) / len(rows)
    # ties (equal positions of different classes) by label, then row: deterministic
    return np.lexsort((np.arange(total), y, position))


def train_size_rows(y: np.ndarray, n: int | None, *, dataset: str = "") -> np.ndarray | None:
    """The sorted training rows of a grid.train_sizes cell: the first ``n`` rows of
    :func:`train_order` (so nested across sizes, identical for every run seed); None for
    the whole split (``n`` None). A size above the split's count is a TrainSizeError
    naming the dataset, the size and the count."""
    if n is None:
        return None
    total = len(y)
    if n > total:
        raise TrainSizeError(
            f"dataset {dataset!r}: grid.train_sizes has {n:,}, but its training split holds "
            f"{total:,} examples; use sizes <= {total:,}"
        )
    return np.sort(train_order(y)[:n])


@dataclass
class EncodedDataset:
    meta: EncodedMeta
    splits: dict[str, Split]


def save_encoded(path: str | Path, meta: EncodedMeta, splits: dict[str, Split]) -> None:
    """Write atomically: an interrupted write never leaves a file that looks complete."""
    arrays: dict[str, np.ndarray] = {"meta": np.array(json.dumps(asdict(meta)))}
    for name in SPLITS:
        split = splits[name]
        arrays[f"{name}_x"] = split.x
        arrays[f"{name}_lengths"] = split.lengths.astype(np.int32)
        arrays[f"{name}_y"] = split.y.astype(np.int64)
        if split.full_tags is not None:
            flat = [np.asarray(row, dtype=np.int64) for row in split.full_tags]
            arrays[f"{name}_full_tags"] = (
                np.concatenate(flat) if flat else np.zeros(0, dtype=np.int64)
            )
            arrays[f"{name}_full_lengths"] = np.array([len(r) for r in flat], dtype=np.int32)
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)


def load_encoded(path: str | Path) -> EncodedDataset:
    with np.load(path, allow_pickle=False) as data:
        meta = EncodedMeta(**json.loads(str(data["meta"])))
        splits = {
            name: Split(
                x=data[f"{name}_x"],
                lengths=data[f"{name}_lengths"],
                y=data[f"{name}_y"],
                full_tags=_full_tags(data, name),
            )
            for name in SPLITS
        }
    return EncodedDataset(meta=meta, splits=splits)


def _full_tags(data: np.lib.npyio.NpzFile, name: str) -> list[np.ndarray] | None:
    if f"{name}_full_tags" not in data.files:
        return None
    ends = np.cumsum(data[f"{name}_full_lengths"].astype(np.int64))
    return np.split(data[f"{name}_full_tags"], ends[:-1]) if ends.size else []
