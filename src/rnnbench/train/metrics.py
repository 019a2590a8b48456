"""Evaluation metrics per task, and the majority-class baseline they are judged against.

Every function takes numpy arrays and returns plain floats; an undefined value (ROC-AUC
with one class present, accuracy over an empty set) is NaN, which the JSON writer turns
into null. NER metrics only ever look at real tokens: positions whose gold tag is
:data:`IGNORE_INDEX` (padding) are dropped before anything is counted, so whatever a
model predicts there cannot move a number (seed E's Keras accuracy counted them).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from seqeval.metrics import classification_report
from seqeval.scheme import IOB2
from sklearn.metrics import f1_score, roc_auc_score

from rnnbench.data.arrays import IGNORE_INDEX

TASKS: tuple[str, ...] = ("sentiment", "ner", "memory")
HEADLINE: dict[str, str] = {"sentiment": "accuracy", "ner": "entity_f1", "memory": "accuracy"}
OUTSIDE_TAG = "O"


def headline_metric(task: str) -> str:
    """The validation metric used for early stopping and for ranking runs."""
    try:
        return HEADLINE[task]
    except KeyError:
        raise ValueError(f"task {task!r} is unknown; use one of {list(TASKS)}") from None


def is_binary(task: str, num_classes: int) -> bool:
    """Binary tasks get one logit per example (BCEWithLogitsLoss), not two."""
    return task != "ner" and num_classes == 2


def predict_classes(logits: np.ndarray) -> np.ndarray:
    """Class ids from logits: one logit per example ([N]) or one per class ([..., C])."""
    if logits.ndim == 1:
        return (logits > 0).astype(np.int64)
    return logits.argmax(axis=-1).astype(np.int64)


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    if y_true.size == 0:
        return math.nan
    return float(np.mean(y_true == y_pred))


def sentiment_metrics(y_true: np.ndarray, logits: np.ndarray) -> dict[str, float]:
    """Accuracy, F1 and ROC-AUC; F1 is of class 1 when binary, macro otherwise."""
    y_true = np.asarray(y_true)
    y_pred = predict_classes(logits)
    binary = logits.ndim == 1
    f1 = f1_score(y_true, y_pred, average="binary" if binary else "macro", zero_division=0)
    return {
        "accuracy": accuracy(y_true, y_pred),
        "f1": float(f1),
        "auc": _roc_auc(y_true, logits),
    }


def _roc_auc(y_true: np.ndarray, logits: np.ndarray) -> float:
    # AUC is undefined with a single class in y_true (seed C's all-zero labels): NaN,
    # recorded as null, rather than a crash that would hide the real problem.
    if np.unique(y_true).size < 2:
        return math.nan
    if logits.ndim == 1:
        return float(roc_auc_score(y_true, logits))
    shifted = logits - logits.max(axis=1, keepdims=True)
    probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    try:
        return float(
            roc_auc_score(y_true, probs, multi_class="ovr", labels=np.arange(logits.shape[1]))
        )
    except ValueError:  # a class absent from y_true: one-vs-rest is undefined for it
        return math.nan


def memory_metrics(y_true: np.ndarray, logits: np.ndarray) -> dict[str, float]:
    return {"accuracy": accuracy(np.asarray(y_true), predict_classes(logits))}


def _real_rows(
    y_true: np.ndarray, y_pred: np.ndarray, label_names: Sequence[str]
) -> tuple[list[list[str]], list[list[str]]]:
    """Tag-name sequences per sentence, real tokens only."""
    true_rows: list[list[str]] = []
    pred_rows: list[list[str]] = []
    names = np.asarray(label_names, dtype=object)
    for gold, pred in zip(y_true, y_pred, strict=True):
        mask = gold != IGNORE_INDEX
        true_rows.append(list(names[gold[mask]]))
        pred_rows.append(list(names[pred[mask]]))
    return true_rows, pred_rows


def ner_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, label_names: Sequence[str]
) -> dict[str, object]:
    """Token accuracy (real tokens), non-O accuracy, entity P/R/F1 micro and per type.

    ``y_true`` and ``y_pred`` are tag ids ``[N, L]``; ``y_true`` holds IGNORE_INDEX at
    padding. Entities follow CoNLL: exact span and type match, seqeval strict IOB2, so
    an ill-formed prediction such as ``O I-PER`` is no entity at all.
    """
    if OUTSIDE_TAG not in label_names:
        raise ValueError(f"NER label_names must contain {OUTSIDE_TAG!r}, got {list(label_names)}")
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    mask = y_true != IGNORE_INDEX
    gold, pred = y_true[mask], y_pred[mask]
    entity_mask = gold != list(label_names).index(OUTSIDE_TAG)
    metrics: dict[str, object] = {
        "token_accuracy": accuracy(gold, pred),
        "non_o_accuracy": accuracy(gold[entity_mask], pred[entity_mask]),
    }
    true_rows, pred_rows = _real_rows(y_true, y_pred, label_names)
    metrics.update(entity_scores(true_rows, pred_rows))
    return metrics


def entity_scores(true_rows: list[list[str]], pred_rows: list[list[str]]) -> dict[str, object]:
    """seqeval strict IOB2 scores: entity_precision/recall/f1 (micro) and ``per_type``."""
    has_entity = any(tag != OUTSIDE_TAG for row in (*true_rows, *pred_rows) for tag in row)
    if not has_entity:
        # seqeval fails on "no entities anywhere"; every entity score is undefined.
        return {
            "entity_precision": math.nan,
            "entity_recall": math.nan,
            "entity_f1": math.nan,
            "per_type": {},
        }
    report = classification_report(
        true_rows, pred_rows, mode="strict", scheme=IOB2, output_dict=True, zero_division=0
    )
    micro = report["micro avg"]
    per_type = {
        name: {
            "precision": float(row["precision"]),
            "recall": float(row["recall"]),
            "f1": float(row["f1-score"]),
            "support": int(row["support"]),
        }
        for name, row in report.items()
        if not name.endswith(" avg")
    }
    return {
        "entity_precision": float(micro["precision"]),
        "entity_recall": float(micro["recall"]),
        "entity_f1": float(micro["f1-score"]),
        "per_type": per_type,
    }


def compute_metrics(
    task: str, y_true: np.ndarray, logits: np.ndarray, label_names: Sequence[str] = ()
) -> dict[str, object]:
    """All metrics of ``task`` for model outputs ``logits`` against ``y_true``."""
    if task == "sentiment":
        return sentiment_metrics(y_true, logits)
    if task == "memory":
        return memory_metrics(y_true, logits)
    if task == "ner":
        return ner_metrics(y_true, predict_classes(logits), label_names)
    raise ValueError(f"task {task!r} is unknown; use one of {list(TASKS)}")


def majority_label(y_train: np.ndarray) -> int:
    """Most frequent class (or tag over real tokens) in the training labels; ties -> lowest id."""
    labels = np.asarray(y_train)
    labels = labels[labels != IGNORE_INDEX]
    if labels.size == 0:
        raise ValueError("cannot take a majority label from an empty training split")
    return int(np.bincount(labels).argmax())


def majority_score(y_true: np.ndarray, label: int) -> float:
    """Accuracy of always predicting ``label`` (token accuracy over real tokens for NER).

    Accuracy for every task, NER included: a majority-tag predictor's entity F1 is always
    0, while its token accuracy (~0.85 on GMB) is what an inflated accuracy must beat.
    """
    labels = np.asarray(y_true)
    labels = labels[labels != IGNORE_INDEX]
    return accuracy(labels, np.full_like(labels, label))


def label_counts(y: np.ndarray, label_names: Sequence[str] = ()) -> dict[str, int]:
    """Count of each label (real tokens only), keyed by name when names are known."""
    labels = np.asarray(y)
    labels = labels[labels != IGNORE_INDEX]
    ids, counts = np.unique(labels, return_counts=True)
    return {
        (label_names[i] if i < len(label_names) else str(i)): int(c)
        for i, c in zip(ids.tolist(), counts.tolist(), strict=True)
    }
