"""Evaluation metrics per task, and the majority-class baseline they are judged against.

Every function takes numpy arrays and returns plain floats; an undefined value (ROC-AUC
with one class present, accuracy over an empty set) is NaN, which the JSON writer turns
into null. NER metrics only ever look at real tokens: positions whose gold tag is
:data:`IGNORE_INDEX` (padding) are dropped before anything is counted, so whatever a
model predicts there cannot move a number (seed E's Keras accuracy counted them).

NER is scored like the literature (CoNLL's conlleval): every sentence in full, whatever
the sequence length cut. A token cut off by the length is predicted ``O`` (the model
never saw it), so a gold entity beyond the cut is a false negative; the full gold tags
come from the encoded file (``Split.full_tags``). The headline ``entity_f1`` (with
``entity_precision``/``entity_recall`` and ``per_type``) is seqeval's default mode,
which is conlleval's reading of chunks (an ``I-X`` after ``O`` starts an entity);
``strict_entity_precision``/``_recall``/``_f1`` are seqeval's strict IOB2 mode (an
ill-formed ``I-X`` with no ``B-X`` before it is no entity), kept as a second column.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from seqeval.metrics import classification_report
from seqeval.scheme import IOB2
from sklearn.metrics import f1_score, roc_auc_score

from rnnbench.data.arrays import IGNORE_INDEX
from rnnbench.experiment.tasks import TASKS as ALL_TASKS
from rnnbench.experiment.tasks import task_of

TASKS: tuple[str, ...] = tuple(ALL_TASKS)
HEADLINE: dict[str, str] = {name: task.headline for name, task in ALL_TASKS.items()}
OUTSIDE_TAG = "O"


def headline_metric(task: str) -> str:
    """The validation metric used for early stopping and for ranking runs."""
    try:
        return HEADLINE[task]
    except KeyError:
        raise ValueError(f"task {task!r} is unknown; use one of {list(TASKS)}") from None


def is_binary(task: str, num_classes: int) -> bool:
    """Binary tasks get one logit per example (BCEWithLogitsLoss), not two."""
    return not task_of(task).tags_tokens and num_classes == 2


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


def cut_predictions(kept: Sequence[str], full_length: int, truncating: str) -> list[str]:
    """A whole sentence's predicted tags from those of its kept tokens: every token cut
    off by the sequence length is predicted ``O`` (``truncating="post"`` kept the first
    tokens, ``"pre"`` the last ones)."""
    missing = full_length - len(kept)
    if missing < 0:
        raise ValueError(f"{len(kept)} kept tokens but the sentence has only {full_length}")
    cut = [OUTSIDE_TAG] * missing
    return [*kept, *cut] if truncating == "post" else [*cut, *kept]


def keep_tokens(row: Sequence[str], length: int, truncating: str) -> list[str]:
    """The tokens (or tags) of a sentence that a model of ``length`` sees (data.encode's cut)."""
    return list(row[:length] if truncating == "post" else row[-length:])


def sentence_rows(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    label_names: Sequence[str],
    full_tags: Sequence[np.ndarray] | None = None,
    truncating: str = "post",
) -> tuple[list[list[str]], list[list[str]]]:
    """Gold and predicted tag-name sequences per sentence.

    ``y_true``/``y_pred`` are the ``[N, L]`` tag ids of the kept tokens (IGNORE_INDEX in
    ``y_true`` at padding). With ``full_tags`` (each sentence's full gold tag ids) the
    rows are whole sentences, cut-off tokens predicted ``O`` (:func:`cut_predictions`);
    without, only the kept tokens (an encoded file without full tags).
    """
    true_rows: list[list[str]] = []
    pred_rows: list[list[str]] = []
    names = np.asarray(label_names, dtype=object)
    if full_tags is not None and len(full_tags) != len(y_true):
        raise ValueError(f"{len(full_tags)} full tag rows for {len(y_true)} sentences")
    for i, (gold, pred) in enumerate(zip(y_true, y_pred, strict=True)):
        mask = gold != IGNORE_INDEX
        kept_pred = list(names[pred[mask]])
        if full_tags is None:
            true_rows.append(list(names[gold[mask]]))
            pred_rows.append(kept_pred)
            continue
        full = np.asarray(full_tags[i])
        kept_gold = gold[mask]
        k = kept_gold.size
        window = full[:k] if truncating == "post" else full[full.size - k :]
        if k > full.size or not np.array_equal(window, kept_gold):
            raise ValueError(
                f"sentence {i}: the kept tags are not a {truncating!r} cut of its tags"
            )
        true_rows.append(list(names[full]))
        pred_rows.append(cut_predictions(kept_pred, full.size, truncating))
    return true_rows, pred_rows


def tag_sequence_metrics(
    true_rows: Sequence[Sequence[str]], pred_rows: Sequence[Sequence[str]]
) -> dict[str, object]:
    """Every NER metric from tag-name sequences (whole sentences): token accuracy,
    non-O accuracy (over gold non-O tokens) and :func:`entity_scores`. The models
    (:func:`ner_metrics`) and the baselines are scored by this one function."""
    gold = np.array([t for row in true_rows for t in row], dtype=object)
    pred = np.array([t for row in pred_rows for t in row], dtype=object)
    if gold.size != pred.size:
        raise ValueError(f"{gold.size} gold tags but {pred.size} predicted")
    entity = gold != OUTSIDE_TAG
    return {
        "token_accuracy": accuracy(gold, pred),
        "non_o_accuracy": accuracy(gold[entity], pred[entity]),
        **entity_scores([list(r) for r in true_rows], [list(r) for r in pred_rows]),
    }


def ner_metrics(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    label_names: Sequence[str],
    full_tags: Sequence[np.ndarray] | None = None,
    truncating: str = "post",
) -> dict[str, object]:
    """Token accuracy, non-O accuracy, entity P/R/F1 micro (conlleval and strict IOB2)
    and per type (conlleval), over whole sentences (see the module doc).

    ``y_true`` and ``y_pred`` are tag ids ``[N, L]``; ``y_true`` holds IGNORE_INDEX at
    padding. ``full_tags`` are the sentences' full gold tag ids (see
    :func:`sentence_rows`); ``truncating`` is the encoded file's cut.
    """
    if OUTSIDE_TAG not in label_names:
        raise ValueError(f"NER label_names must contain {OUTSIDE_TAG!r}, got {list(label_names)}")
    true_rows, pred_rows = sentence_rows(
        np.asarray(y_true), np.asarray(y_pred), label_names, full_tags, truncating
    )
    return tag_sequence_metrics(true_rows, pred_rows)


ENTITY_KEYS: tuple[str, ...] = ("entity_precision", "entity_recall", "entity_f1")
STRICT_PREFIX = "strict_"


def entity_scores(true_rows: list[list[str]], pred_rows: list[list[str]]) -> dict[str, object]:
    """Entity scores (exact span and type match), micro-averaged:

    - ``entity_precision``/``entity_recall``/``entity_f1``: conlleval's convention,
      seqeval's default mode (``seqeval.metrics.f1_score(y_true, y_pred)``), where an
      ``I-X`` that follows ``O`` or another type starts an entity;
    - ``strict_entity_precision``/``_recall``/``_f1``: seqeval strict IOB2, where such
      an ill-formed ``I-X`` is no entity at all;
    - ``per_type``: ``{type: precision, recall, f1, support}``, conlleval convention.
    """
    has_entity = any(tag != OUTSIDE_TAG for row in (*true_rows, *pred_rows) for tag in row)
    undefined = {key: math.nan for key in ENTITY_KEYS}
    if not has_entity:
        # seqeval fails on "no entities anywhere"; every entity score is undefined.
        return {**undefined, **_prefixed(undefined), "per_type": {}}
    report = classification_report(true_rows, pred_rows, output_dict=True, zero_division=0)
    scores = _micro(report)
    try:
        strict = _micro(
            classification_report(
                true_rows, pred_rows, mode="strict", scheme=IOB2, output_dict=True, zero_division=0
            )
        )
    except ValueError:  # only ill-formed I- tags anywhere: no strict entity at all
        strict = undefined
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
    return {**scores, **_prefixed(strict), "per_type": per_type}


def _micro(report: dict[str, Any]) -> dict[str, float]:
    micro = report["micro avg"]
    return {
        "entity_precision": float(micro["precision"]),
        "entity_recall": float(micro["recall"]),
        "entity_f1": float(micro["f1-score"]),
    }


def _prefixed(scores: dict[str, float]) -> dict[str, float]:
    return {f"{STRICT_PREFIX}{key}": value for key, value in scores.items()}


def compute_metrics(
    task: str,
    y_true: np.ndarray,
    logits: np.ndarray,
    label_names: Sequence[str] = (),
    *,
    full_tags: Sequence[np.ndarray] | None = None,
    truncating: str = "post",
) -> dict[str, object]:
    """All metrics of ``task`` for model outputs ``logits`` against ``y_true``
    (NER: ``full_tags`` and ``truncating`` as in :func:`ner_metrics`)."""
    if task == "sentiment":
        return sentiment_metrics(y_true, logits)
    if task == "memory":
        return memory_metrics(y_true, logits)
    if task == "ner":
        return ner_metrics(y_true, predict_classes(logits), label_names, full_tags, truncating)
    raise ValueError(f"task {task!r} is unknown; use one of {list(TASKS)}")


def majority_label(y_train: np.ndarray) -> int:
    """Most frequent class (or tag over real tokens) in the training labels; ties -> lowest id."""
    labels = np.asarray(y_train)
    labels = labels[labels != IGNORE_INDEX]
    if labels.size == 0:
        raise ValueError("cannot take a majority label from an empty training split")
    return int(np.bincount(labels).argmax())


def majority_score(
    y_true: np.ndarray,
    label: int,
    *,
    full_tags: Sequence[np.ndarray] | None = None,
    label_names: Sequence[str] = (),
    truncating: str = "post",
) -> float:
    """Accuracy of always predicting ``label`` (token accuracy over real tokens for NER).

    Accuracy for every task, NER included: a majority-tag predictor's entity F1 is always
    0, while its token accuracy (~0.85 on GMB) is what an inflated accuracy must beat.
    With ``full_tags`` (NER) whole sentences are scored, cut-off tokens predicted ``O``,
    as the models are (:func:`sentence_rows`).
    """
    labels = np.asarray(y_true)
    if full_tags is not None:
        gold, pred = sentence_rows(
            labels, np.full_like(labels, label), label_names, full_tags, truncating
        )
        return float(tag_sequence_metrics(gold, pred)["token_accuracy"])
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


def examples_note(split: str, n: int, subsample: int | None, seeds: Sequence[int] = ()) -> str:
    """Which examples a score is computed on, in words: ``"test, 1,000-example evaluation
    subsample (seed 0)"``, or ``"test, all 25,000 examples"`` when not subsampled."""
    if subsample is None or n != subsample:
        return f"{split}, all {n:,} examples"
    kind = "training" if split == "train" else "evaluation"
    seeds = sorted(set(seeds))
    if len(seeds) == 1:
        return f"{split}, {n:,}-example {kind} subsample (seed {seeds[0]})"
    if seeds:
        listed = ", ".join(str(s) for s in seeds)
        return f"{split}, {n:,}-example {kind} subsamples of seeds {listed} (mean)"
    return f"{split}, {n:,}-example {kind} subsample"
