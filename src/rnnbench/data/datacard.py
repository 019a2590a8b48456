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


def _text_key(record: dict) -> str:
    return record["text"] if "text" in record else "\x1f".join(record["tokens"])


def cross_split_duplicates(splits: dict[str, list[dict]]) -> dict[str, int]:
    """``{"train_test": n, ...}``: examples of the later split whose exact text (NER: token
    sequence) is also in the earlier one, i.e. test items a model may have seen in training."""
    texts = {split: [_text_key(r) for r in records] for split, records in splits.items()}
    names = list(splits)
    out = {}
    for i, first in enumerate(names):
        seen = set(texts[first])
        for second in names[i + 1 :]:
            out[f"{first}_{second}"] = sum(t in seen for t in texts[second])
    return out


def memory_split_card(y: np.ndarray, length: int) -> dict:
    values, counts = np.unique(y, return_counts=True)
    return {
        "examples": int(y.shape[0]),
        "label_counts": {str(int(v)): int(c) for v, c in zip(values, counts, strict=True)},
        "token_length": length_percentiles(np.full(y.shape[0], length)),
    }


def datacard_html(card: dict) -> str:
    """The data card as a small self-contained HTML page (for the Snakemake report)."""
    import pandas as pd

    from rnnbench.analysis.formats import fmt_int
    from rnnbench.analysis.htmlpage import page, styled_table

    labels = "tags" if card["task"] == "ner" else "labels"

    def row(split: str, info: dict) -> dict[str, str]:
        counts = sorted(info.get(f"{labels[:-1]}_counts", {}).items(), key=lambda kv: -kv[1])
        shown = ", ".join(f"{k}: {v:,}" for k, v in counts[:8])
        return {
            "split": split,
            "examples": fmt_int(info["examples"]),
            labels: shown + (" …" if len(counts) > 8 else ""),
            "length p50 / p90 / p99 / max": " / ".join(
                str(info["token_length"][k]) for k in ("p50", "p90", "p99", "max")
            ),
            "tokens": fmt_int(info.get("tokens")) or "–",
            "OOV rate": f"{info['oov_rate']:.2%}" if "oov_rate" in info else "–",
        }

    leaks = [
        f"{p.replace('_', ' / ')}: {n:,}"
        for p, n in (card.get("duplicates_across_splits") or {}).items()
        if n
    ]
    intro = (
        f"Source: {card.get('source') or card.get('synthetic') or ''} · vocabulary "
        f"{card['vocab_size']:,} ids · {card['num_labels']} labels: {', '.join(card['labels'])}"
        + (f" · exact duplicate texts across splits: {', '.join(leaks)}" if leaks else "")
    )
    frame = pd.DataFrame([row(split, info) for split, info in card["splits"].items()])
    title = f"Data card: {card['dataset']} ({card['task']}, format {card['format']})"
    return page(title, styled_table(frame, caption=intro))
