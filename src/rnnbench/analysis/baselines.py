"""Baselines computed on the same splits as the models, scored with the same metrics.

- ``majority``: always predict the most frequent training class (NER: tag). For NER its
  entity F1 is 0 (it predicts no entity); its token accuracy is what an inflated
  accuracy such as seed E's must beat.
- ``bow-logreg`` (sentiment): bag of words + logistic regression, as in the lecture
  slides (``CountVectorizer`` + ``LogisticRegression``; ``TfidfVectorizer`` on request).
  It reads the tokenized splits, so it sees exactly the tokens the models see, but
  whole documents: no truncation to a sequence length and no vocabulary cap (the
  slides' setting). Fit on train only; validation and test are scored.
- ``most-frequent-tag`` (NER): each training word's most frequent tag; words unseen in
  train get "O". Its output is not repaired into valid IOB2, so an ``I-`` tag with no
  ``B-`` before it is no entity under seqeval's strict IOB2 scoring - the same rule
  the models are scored by.

Metric names are those of metrics.json (``accuracy``, ``f1``, ``auc``,
``token_accuracy``, ``entity_f1``, ...), so a baseline lines up with a run's
``test_<metric>`` columns. The memory task has the majority baseline only: its inputs
are noise except for one position, and a constant is what "not learning" scores.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rnnbench.analysis.collect import AnalysisError
from rnnbench.io import read_jsonl, write_json_atomic
from rnnbench.train.metrics import (
    HEADLINE,
    OUTSIDE_TAG,
    accuracy,
    entity_scores,
    majority_label,
    majority_score,
    sentiment_metrics,
)

log = logging.getLogger("rnnbench.analysis")

EVAL_SPLITS: tuple[str, ...] = ("validation", "test")
VECTORIZERS: tuple[str, ...] = ("count", "tfidf")
MAJORITY, BOW, MOST_FREQUENT_TAG = "majority", "bow-logreg", "most-frequent-tag"
LOGREG_MAX_ITER = 1000


def _identity(tokens: list[str]) -> list[str]:
    """The vectorizer's analyzer: the splits are tokenized already (same tokens as the
    models), so sklearn must not re-tokenize or lowercase them."""
    return tokens


def _read_split(tokens_dir: str | Path, split: str) -> list[dict]:
    path = Path(tokens_dir) / f"{split}.jsonl"
    try:
        return read_jsonl(path)
    except FileNotFoundError:
        raise AnalysisError(f"{path}: tokenized split not found") from None
    except (OSError, ValueError) as err:
        raise AnalysisError(f"{path}: cannot read tokenized split: {err}") from None


def _label_names(vocab_path: str | Path) -> list[str]:
    path = Path(vocab_path)
    try:
        with open(path, encoding="utf-8") as handle:
            names = json.load(handle)["label_names"]
    except FileNotFoundError:
        raise AnalysisError(f"{path}: vocabulary not found") from None
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise AnalysisError(f"{path}: cannot read label_names from vocabulary: {err}") from None
    return list(names)


def _json_safe(obj: Any) -> Any:
    """NaN/inf -> None and numpy scalars -> Python (metrics.json's convention)."""
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


# --- sentiment -------------------------------------------------------------------------


def _label_ids(records: list[dict], index: dict[str, int], split: str) -> np.ndarray:
    try:
        return np.array([index[str(r["label"])] for r in records], dtype=np.int64)
    except KeyError as err:
        raise AnalysisError(
            f"{split}: label {err} is not in the vocabulary's label_names"
        ) from None


def _constant_logits(label: int, n: int, num_classes: int) -> np.ndarray:
    """Logits that predict ``label`` for every row, shaped as the models' (1-D if binary)."""
    if num_classes == 2:
        return np.full(n, 1.0 if label == 1 else -1.0)
    logits = np.zeros((n, num_classes))
    logits[:, label] = 1.0
    return logits


def _full_logits(scores: np.ndarray, classes: np.ndarray, num_classes: int) -> np.ndarray:
    """Multi-class decision scores with a column per label (absent classes never win)."""
    out = np.full((scores.shape[0], num_classes), -1e9)
    out[:, classes] = scores
    return out


def sentiment_baselines(
    tokens_dir: str | Path,
    vocab_path: str | Path,
    *,
    vectorizer: str = "count",
    max_features: int | None = None,
    C: float = 1.0,
) -> dict[str, Any]:
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    if vectorizer not in VECTORIZERS:
        raise ValueError(f"vectorizer must be one of {list(VECTORIZERS)}, got {vectorizer!r}")
    names = _label_names(vocab_path)
    index = {name: i for i, name in enumerate(names)}
    splits = {s: _read_split(tokens_dir, s) for s in ("train", *EVAL_SPLITS)}
    y = {s: _label_ids(records, index, s) for s, records in splits.items()}
    num_classes = len(names)

    majority = majority_label(y["train"])
    result: dict[str, Any] = {
        MAJORITY: {
            "label": names[majority],
            **{
                s: sentiment_metrics(y[s], _constant_logits(majority, len(y[s]), num_classes))
                for s in EVAL_SPLITS
            },
        }
    }

    started = time.perf_counter()
    vec_cls = CountVectorizer if vectorizer == "count" else TfidfVectorizer
    vec = vec_cls(analyzer=_identity, max_features=max_features)
    x_train = vec.fit_transform([r["tokens"] for r in splits["train"]])
    settings = {
        "vectorizer": vectorizer,
        "max_features": max_features,
        "features": len(vec.vocabulary_),
        "C": C,
        "max_iter": LOGREG_MAX_ITER,
    }
    if np.unique(y["train"]).size < 2:
        # Seed C's all-one-class labels: there is nothing to fit; say so, do not crash.
        result[BOW] = {"settings": settings, "skipped": "training labels hold a single class"}
        return result
    model = LogisticRegression(C=C, max_iter=LOGREG_MAX_ITER)
    model.fit(x_train, y["train"])
    bow: dict[str, Any] = {"settings": settings}
    for s in EVAL_SPLITS:
        scores = model.decision_function(vec.transform([r["tokens"] for r in splits[s]]))
        if num_classes != 2:
            scores = _full_logits(np.atleast_2d(scores), model.classes_, num_classes)
        # Binary: decision_function > 0 means class 1 (classes_ == [0, 1]), the same
        # convention as the models' single logit, so sentiment_metrics reads both alike.
        bow[s] = sentiment_metrics(y[s], scores)
    settings["iterations"] = int(np.max(model.n_iter_))
    bow["seconds"] = time.perf_counter() - started
    result[BOW] = bow
    return result


# --- NER -------------------------------------------------------------------------------


def _tag_rows(records: list[dict], split: str) -> tuple[list[list[str]], list[list[str]]]:
    words, tags = [], []
    for i, r in enumerate(records):
        if len(r["tokens"]) != len(r["tags"]):
            raise AnalysisError(f"{split} sentence {i}: {len(r['tokens'])} tokens but tags differ")
        words.append(list(r["tokens"]))
        tags.append(list(r["tags"]))
    return words, tags


def _most_frequent(counter: Counter[str], order: dict[str, int]) -> str:
    # Ties go to the tag listed first in label_names ("O" first), so the result does not
    # depend on the order sentences were read in.
    return min(counter, key=lambda tag: (-counter[tag], order.get(tag, len(order)), tag))


def tag_metrics(gold: list[list[str]], pred: list[list[str]]) -> dict[str, Any]:
    """The models' NER metrics (metrics.ner_metrics) from tag-name sequences."""
    flat_gold = np.array([t for row in gold for t in row], dtype=object)
    flat_pred = np.array([t for row in pred for t in row], dtype=object)
    entity = flat_gold != OUTSIDE_TAG
    return {
        "token_accuracy": accuracy(flat_gold, flat_pred),
        "non_o_accuracy": accuracy(flat_gold[entity], flat_pred[entity]),
        **entity_scores(gold, pred),
    }


def most_frequent_tagger(
    train_words: Sequence[Sequence[str]],
    train_tags: Sequence[Sequence[str]],
    label_names: Sequence[str] = (),
) -> dict[str, str]:
    """``{word: its most frequent training tag}``."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for words, tags in zip(train_words, train_tags, strict=True):
        for word, tag in zip(words, tags, strict=True):
            counts[word][tag] += 1
    order = {tag: i for i, tag in enumerate(label_names)}
    return {word: _most_frequent(counter, order) for word, counter in counts.items()}


def ner_baselines(tokens_dir: str | Path, vocab_path: str | Path) -> dict[str, Any]:
    names = _label_names(vocab_path)
    order = {tag: i for i, tag in enumerate(names)}
    rows = {s: _tag_rows(_read_split(tokens_dir, s), s) for s in ("train", *EVAL_SPLITS)}
    train_words, train_tags = rows["train"]
    overall = Counter(t for row in train_tags for t in row)
    if not overall:
        raise AnalysisError(f"{tokens_dir}: the train split holds no tagged token")
    majority = _most_frequent(overall, order)
    tagger = most_frequent_tagger(train_words, train_tags, names)
    result: dict[str, Any] = {
        MAJORITY: {"label": majority},
        MOST_FREQUENT_TAG: {"settings": {"unknown_word_tag": OUTSIDE_TAG, "words": len(tagger)}},
    }
    for s in EVAL_SPLITS:
        words, gold = rows[s]
        result[MAJORITY][s] = tag_metrics(gold, [[majority] * len(row) for row in gold])
        predicted = [[tagger.get(w, OUTSIDE_TAG) for w in row] for row in words]
        result[MOST_FREQUENT_TAG][s] = tag_metrics(gold, predicted)
    return result


# --- memory ----------------------------------------------------------------------------


def memory_baselines(encoded: Sequence[str | Path]) -> dict[str, Any]:
    """Majority class per encoded file (one per length); the top level is their mean
    (the generator balances classes exactly, so the lengths agree in practice)."""
    from rnnbench.data.arrays import load_encoded

    if not encoded:
        raise AnalysisError("the memory baseline needs at least one encoded .npz (--encoded)")
    by_length: dict[str, Any] = {}
    for path in encoded:
        try:
            data = load_encoded(path)
        except (OSError, ValueError, KeyError) as err:
            raise AnalysisError(f"{path}: cannot read encoded dataset: {err}") from None
        label = majority_label(data.splits["train"].y)
        names = data.meta.label_names
        by_length[str(data.meta.length)] = {
            "label": names[label] if label < len(names) else label,
            **{s: {"accuracy": majority_score(data.splits[s].y, label)} for s in EVAL_SPLITS},
        }
    by_length = {k: by_length[k] for k in sorted(by_length, key=int)}
    first = next(iter(by_length.values()))
    majority: dict[str, Any] = {"label": first["label"]}
    for s in EVAL_SPLITS:
        majority[s] = {"accuracy": float(np.mean([v[s]["accuracy"] for v in by_length.values()]))}
    majority["by_length"] = by_length
    return {MAJORITY: majority}


# --- entry point -----------------------------------------------------------------------


def compute_baselines(
    task: str,
    tokens_dir: str | Path | None = None,
    vocab_path: str | Path | None = None,
    *,
    encoded: Sequence[str | Path] = (),
    dataset: str | None = None,
    vectorizer: str = "count",
    max_features: int | None = None,
    C: float = 1.0,
) -> dict[str, Any]:
    """Every baseline of ``task``: ``{"task", "headline_metric", "baselines": {name:
    {"validation": metrics, "test": metrics, ...}}}``. Text tasks read ``tokens_dir``
    (train/validation/test.jsonl) and ``vocab_path``; memory reads ``encoded`` .npz."""
    if task not in HEADLINE:
        raise ValueError(f"task {task!r} is unknown; use one of {sorted(HEADLINE)}")
    started = time.perf_counter()
    if task == "memory":
        baselines = memory_baselines(encoded)
    else:
        if tokens_dir is None or vocab_path is None:
            raise ValueError(f"the {task} baselines need tokens_dir and vocab_path")
        if task == "sentiment":
            baselines = sentiment_baselines(
                tokens_dir, vocab_path, vectorizer=vectorizer, max_features=max_features, C=C
            )
        else:
            baselines = ner_baselines(tokens_dir, vocab_path)
    headline = HEADLINE[task]
    for name, entry in baselines.items():
        log.info("baseline %s: test %s %s", name, headline, entry.get("test", {}).get(headline))
    return {
        "dataset": dataset,
        "task": task,
        "headline_metric": headline,
        "baselines": baselines,
        "seconds": time.perf_counter() - started,
    }


def write_baselines(path: str | Path, result: dict[str, Any]) -> None:
    write_json_atomic(path, _json_safe(result))


def baseline_scores(doc: dict[str, Any] | None, split: str = "test") -> dict[str, float]:
    """``{baseline name: headline score on split}`` from a compute_baselines result
    (skipped baselines are left out)."""
    if not doc:
        return {}
    headline = doc.get("headline_metric")
    out = {}
    for name, entry in (doc.get("baselines") or {}).items():
        value = (entry.get(split) or {}).get(headline)
        if value is not None:
            out[name] = float(value)
    return out
