"""The encoded dataset file: what the data stage writes and the training job reads.

One ``.npz`` per (dataset, sequence length) at
``results/prepared/<dataset>/len<L>.npz``, holding every split:

- ``<split>_x``: ``int32 [N, L]`` token ids (``<pad>`` = 0, ``<unk>`` = 1) for text
  tasks, ``float32 [N, L]`` scalar values for the memory task;
- ``<split>_lengths``: ``int32 [N]`` number of real (non-padding) positions in each row,
  always >= 1; with ``padding == "post"`` they are the first ``lengths`` positions,
  with ``"pre"`` the last ones;
- ``<split>_y``: ``int64 [N]`` class ids (sentiment, memory) or ``int64 [N, L]`` tag ids
  (NER) with :data:`IGNORE_INDEX` at every padding position;
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


@dataclass
class Split:
    x: np.ndarray
    lengths: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return int(self.x.shape[0])


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
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)


def load_encoded(path: str | Path) -> EncodedDataset:
    with np.load(path, allow_pickle=False) as data:
        meta = EncodedMeta(**json.loads(str(data["meta"])))
        splits = {
            name: Split(x=data[f"{name}_x"], lengths=data[f"{name}_lengths"], y=data[f"{name}_y"])
            for name in SPLITS
        }
    return EncodedDataset(meta=meta, splits=splits)
