"""The data card: what is in each split, so a reader can judge the data before the models."""

from __future__ import annotations

import numpy as np

from rnnbench.data.splitting import label_counts
from rnnbench.data.vocab import Vocab


def length_percentiles(lengths: list[int] | np.ndarray) -> dict[str, int]:
    values = np.asarray(lengths)
    if values.size == 0:
        return {"p50": 0, "p90": 0, "p99": 0, "max": 0}
    p50, p90, p99 = np.percentile(values, [50, 90, 99])
    return {"p50": int(p50), "p90": int(p90), "p99": int(p99), "max": int(values.max())}


def text_split_card(records: list[dict], vocab: Vocab, dropped_empty: int = 0) -> dict:
    token_count = oov = 0
    index = vocab.index
    for record in records:
        token_count += len(record["tokens"])
        oov += sum(1 for t in record["tokens"] if t not in index)
    key = "tag_counts" if records and "tags" in records[0] else "label_counts"
    return {
        "examples": len(records),
        key: label_counts(records),
        "token_length": length_percentiles([len(r["tokens"]) for r in records]),
        "tokens": token_count,
        "oov_rate": round(oov / token_count, 6) if token_count else 0.0,
        "dropped_empty": dropped_empty,
    }


def memory_split_card(y: np.ndarray, length: int) -> dict:
    values, counts = np.unique(y, return_counts=True)
    return {
        "examples": int(y.shape[0]),
        "label_counts": {str(int(v)): int(c) for v, c in zip(values, counts, strict=True)},
        "token_length": length_percentiles(np.full(y.shape[0], length)),
    }
