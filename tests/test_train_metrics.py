"""Metrics against hand-computed values, degenerate cases, and NaN-safe JSON."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from rnnbench.data.arrays import IGNORE_INDEX
from rnnbench.metrics import (
    compute_metrics,
    entity_scores,
    headline_metric,
    label_counts,
    majority_label,
    majority_score,
    ner_metrics,
    sentiment_metrics,
)
from rnnbench.train.report import json_safe

TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
P = IGNORE_INDEX


def test_headline_metric_per_task() -> None:
    assert headline_metric("sentiment") == "accuracy"
    assert headline_metric("ner") == "entity_f1"
    assert headline_metric("memory") == "accuracy"
    with pytest.raises(ValueError, match="pos_tagging"):
        headline_metric("pos_tagging")


def test_sentiment_metrics_by_hand() -> None:
    y = np.array([1, 1, 0, 0, 1])
    logits = np.array([2.0, -0.5, -1.0, 0.3, 0.1])  # predictions 1 0 0 1 1
    m = sentiment_metrics(y, logits)
    assert m["accuracy"] == pytest.approx(3 / 5)
    # tp=2 fp=1 fn=1 -> precision 2/3, recall 2/3
    assert m["f1"] == pytest.approx(2 / 3)
    # positive scores {2.0, -0.5, 0.1} vs negative {-1.0, 0.3}: 4 of 6 pairs ordered
    assert m["auc"] == pytest.approx(4 / 6)


def test_single_class_auc_is_nan_and_becomes_null_in_json() -> None:
    m = sentiment_metrics(np.zeros(4, dtype=int), np.array([0.1, -0.2, 0.3, -0.4]))
    assert math.isnan(m["auc"])
    assert m["accuracy"] == 0.5
    assert json.loads(json.dumps(json_safe(m)))["auc"] is None


def test_multiclass_logits_use_argmax() -> None:
    y = np.array([0, 1, 2, 2])
    logits = np.array([[3, 0, 0], [0, 3, 0], [0, 3, 0], [0, 0, 3]], dtype=float)
    m = compute_metrics("memory", y, logits)
    assert m == {"accuracy": 0.75}
    assert 0 < compute_metrics("sentiment", y, logits)["auc"] <= 1


def _ner_example() -> tuple[np.ndarray, np.ndarray]:
    # Two sentences, post-padded to length 6.
    gold = np.array(
        [
            [1, 2, 0, 3, P, P],  # PER(0-1) O LOC(3)
            [0, 3, 4, 0, 1, P],  # O LOC(1-2) O PER(4)
        ]
    )
    pred = np.array(
        [
            [1, 2, 0, 0, 3, 3],  # PER right, LOC missed; pads are garbage
            [0, 3, 0, 0, 2, 1],  # LOC span cut short (wrong); "I-PER" alone is no entity
        ]
    )
    return gold, pred


def test_ner_metrics_by_hand() -> None:
    gold, pred = _ner_example()
    m = ner_metrics(gold, pred, TAGS)
    # 9 real tokens; correct: row 1 positions 0,1,2 (3 of 4), row 2 positions 0,1,3 (3 of 5)
    assert m["token_accuracy"] == pytest.approx(6 / 9)
    # non-O gold tokens: 1,2,3 | 3,4,1 -> correct: 1,2 | 3 -> 3/6
    assert m["non_o_accuracy"] == pytest.approx(3 / 6)
    # gold entities: PER, LOC, LOC, PER (4).
    # conlleval (headline): the lone "I-PER" of sentence 2 starts a PER entity, so
    # predicted PER, LOC(1-1), PER(4) (3); correct: both PERs -> P 2/3, R 2/4, F1 4/7.
    assert m["entity_precision"] == pytest.approx(2 / 3)
    assert m["entity_recall"] == pytest.approx(1 / 2)
    assert m["entity_f1"] == pytest.approx(4 / 7)
    # strict IOB2: the lone "I-PER" is no entity: predicted PER, LOC(1-1) (2); correct:
    # PER in sentence 1 only -> P 1/2, R 1/4, F1 1/3.
    assert m["strict_entity_precision"] == pytest.approx(1 / 2)
    assert m["strict_entity_recall"] == pytest.approx(1 / 4)
    assert m["strict_entity_f1"] == pytest.approx(1 / 3)
    # per type, conlleval: PER 2 of 2 right; LOC 0 of 1 predicted, 2 gold.
    assert m["per_type"]["PER"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 2}
    assert m["per_type"]["LOC"]["f1"] == 0.0
    assert m["per_type"]["LOC"]["support"] == 2


def test_ner_predictions_at_padding_never_matter() -> None:
    gold, pred = _ner_example()
    reference = ner_metrics(gold, pred, TAGS)
    rng = np.random.default_rng(0)
    for _ in range(5):
        noisy = pred.copy()
        pads = gold == IGNORE_INDEX
        noisy[pads] = rng.integers(0, len(TAGS), size=int(pads.sum()))
        assert ner_metrics(gold, noisy, TAGS) == reference
    # ... and through the logits path too.
    logits = np.eye(len(TAGS))[pred]
    assert compute_metrics("ner", gold, logits, TAGS) == reference


def test_seqeval_strict_differs_from_lenient_on_ill_formed_spans() -> None:
    # conlleval (the headline) reads "I-PER I-PER" as a PER entity; strict IOB2 does not.
    scores = entity_scores([["B-PER", "I-PER", "O"]], [["I-PER", "I-PER", "O"]])
    assert scores["entity_f1"] == 1.0
    assert scores["strict_entity_f1"] == 0.0
    both = entity_scores([["B-PER", "I-PER"]], [["B-PER", "I-PER"]])
    assert both["entity_f1"] == both["strict_entity_f1"] == 1.0


def test_no_entities_anywhere_is_undefined_not_a_crash() -> None:
    gold = np.array([[0, 0, P]])
    m = ner_metrics(gold, np.array([[0, 0, 1]]), TAGS)
    assert math.isnan(m["entity_f1"]) and m["per_type"] == {}
    assert math.isnan(m["strict_entity_f1"])
    assert math.isnan(m["non_o_accuracy"])
    assert m["token_accuracy"] == 1.0


def test_ner_needs_an_outside_tag() -> None:
    with pytest.raises(ValueError, match="'O'"):
        ner_metrics(np.array([[0]]), np.array([[0]]), ["B-PER", "I-PER"])


def test_majority_from_train_scored_on_another_split() -> None:
    y_train = np.array([1, 1, 0, 1])
    assert majority_label(y_train) == 1
    assert majority_score(np.array([0, 0, 1, 0]), 1) == 0.25
    # NER: padding is neither counted for the majority nor scored.
    tags_train = np.array([[0, 0, 1, P], [0, 3, P, P]])
    assert majority_label(tags_train) == 0
    assert majority_score(np.array([[0, 1, P, P], [0, 0, 0, P]]), 0) == pytest.approx(4 / 5)
    assert label_counts(tags_train, TAGS) == {"O": 3, "B-PER": 1, "B-LOC": 1}


def test_json_safe_converts_numpy_and_non_finite() -> None:
    obj = {"a": np.float32(0.5), "b": [math.inf, np.int64(3)], "c": np.array([1.0, np.nan])}
    assert json_safe(obj) == {"a": 0.5, "b": [None, 3], "c": [1.0, None]}
