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


# Above the real corpora's exact duplicates (full IMDB 0.49%, full GMB 1.08% of test
# examples, mostly short stock sentences), far below a copied split's.
DEFAULT_MAX_TEST_LEAKAGE = 0.02


def _text_key(record: dict) -> str:
    return record["text"] if "text" in record else "\x1f".join(record["tokens"])


def _texts(records: list[dict]) -> list[str]:
    """The texts that can leak: an empty or whitespace-only text is no example's content
    (the tokenize stage drops it), so two of them are never a duplicate."""
    return [t for t in map(_text_key, records) if t.strip() and t.strip("\x1f").strip()]


def cross_split_duplicates(splits: dict[str, list[dict]]) -> dict[str, int]:
    """``{"train_test": n, ...}``: examples of the later split whose exact text (NER: token
    sequence) is also in the earlier one, i.e. test items a model may have seen in training.
    Empty and whitespace-only texts never count."""
    texts = {split: _texts(records) for split, records in splits.items()}
    names = list(splits)
    out = {}
    for i, first in enumerate(names):
        seen = set(texts[first])
        for second in names[i + 1 :]:
            out[f"{first}_{second}"] = sum(t in seen for t in texts[second])
    return out


def test_leakage(splits: dict[str, list[dict]], threshold: float) -> dict:
    """The data card's verdict on leakage: the share of (non-empty) test examples whose
    exact text is also in train or validation (seen before testing: trained on, or used to
    select), and whether it passes ``threshold``."""
    seen = set(_texts(splits["train"])) | set(_texts(splits.get("validation", [])))
    test = _texts(splits["test"])
    leaked = sum(t in seen for t in test)
    share = leaked / len(test) if test else 0.0
    return {
        "test_duplicates": leaked,
        "test_examples": len(test),
        "share": round(share, 6),
        "threshold": threshold,
        "flagged": share > threshold,
    }


def entity_type(tag: str) -> str | None:
    return tag[2:] if tag[:2] in ("B-", "I-") else None


def unseen_tag_types(splits: dict[str, list[dict]]) -> dict[str, dict[str, int]]:
    """``{split: {type: entities}}``: entity types of validation/test that train never has
    (a model cannot learn them, so their entities can only be missed); entities counted
    by their B- tag (IOB2)."""
    train = {entity_type(t) for r in splits["train"] for t in r["tags"]} - {None}
    out = {}
    for split in ("validation", "test"):
        counts: dict[str, int] = {}
        for record in splits.get(split, []):
            for tag in record["tags"]:
                kind = entity_type(tag)
                if kind is not None and kind not in train and tag.startswith("B-"):
                    counts[kind] = counts.get(kind, 0) + 1
        if counts:
            out[split] = dict(sorted(counts.items()))
    return out


def unseen_tags_text(unseen: dict[str, dict[str, int]]) -> str:
    """``test: art (3 entities), nat (1 entity)``; ``validation: ...``."""
    return "; ".join(
        f"{split}: "
        + ", ".join(f"{k} ({n} entit{'y' if n == 1 else 'ies'})" for k, n in kinds.items())
        for split, kinds in unseen.items()
    )


def leakage_text(leak: dict) -> str:
    return (
        f"{leak['test_duplicates']:,} of {leak['test_examples']:,} test examples "
        f"({leak['share']:.1%}) have exactly the text of a training or validation example, "
        "over the "
        f"max_test_leakage threshold of {leak['threshold']:.1%}"
    )


def memory_split_card(y: np.ndarray, length: int) -> dict:
    values, counts = np.unique(y, return_counts=True)
    return {
        "examples": int(y.shape[0]),
        "label_counts": {str(int(v)): int(c) for v, c in zip(values, counts, strict=True)},
        "token_length": length_percentiles(np.full(y.shape[0], length)),
    }
