"""Token lists -> fixed-length int32 arrays, with true lengths, as Keras' pad_sequences does."""

from __future__ import annotations

import numpy as np

from rnnbench.data.arrays import IGNORE_INDEX, Split
from rnnbench.data.vocab import Vocab


def pad_truncate(
    sequences: list[list[int]],
    length: int,
    padding: str = "post",
    truncating: str = "post",
    value: int = 0,
    dtype: type = np.int32,
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``[N, length]`` array and the number of real positions in each row.

    ``truncating="post"`` keeps the first ``length`` items, ``"pre"`` the last ones;
    ``padding="post"`` puts padding after the items, ``"pre"`` before them.
    """
    out = np.full((len(sequences), length), value, dtype=dtype)
    lengths = np.zeros(len(sequences), dtype=np.int32)
    for row, seq in enumerate(sequences):
        kept = seq[:length] if truncating == "post" else seq[-length:]
        n = len(kept)
        lengths[row] = n
        if n == 0:
            continue
        if padding == "post":
            out[row, :n] = kept
        else:
            out[row, length - n :] = kept
    return out, lengths


def encode_split(
    records: list[dict], vocab: Vocab, length: int, padding: str, truncating: str
) -> Split:
    """Encode one split; NER tag arrays hold IGNORE_INDEX at padding positions, and the
    split keeps every sentence's full tag ids (``full_tags``) for scoring in full."""
    x, lengths = pad_truncate(
        [vocab.ids(r["tokens"]) for r in records], length, padding, truncating
    )
    label_index = {name: i for i, name in enumerate(vocab.label_names)}
    if records and "tags" in records[0]:
        tag_ids = [[label_index[t] for t in r["tags"]] for r in records]
        y, _ = pad_truncate(
            tag_ids,
            length,
            padding,
            truncating,
            value=IGNORE_INDEX,
            dtype=np.int64,
        )
        full_tags = [np.array(row, dtype=np.int64) for row in tag_ids]
        return Split(x=x, lengths=lengths, y=y, full_tags=full_tags)
    y = np.array([label_index[r["label"]] for r in records], dtype=np.int64)
    return Split(x=x, lengths=lengths, y=y)
