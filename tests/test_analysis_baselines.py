"""Baselines on tiny token files: BoW logistic regression, most-frequent tag, majority."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from rnnbench.analysis.baselines import (
    BOW,
    BOW_WHOLE,
    MAJORITY,
    MOST_FREQUENT_TAG,
    baseline_rows,
    baseline_scores,
    compute_baselines,
    most_frequent_tagger,
    write_baselines,
)
from rnnbench.metrics import HEADLINE

POS = ["great", "superb", "moving", "brilliant"]
NEG = ["awful", "dull", "boring", "weak"]
FILLER = ["the", "film", "was", "a", "plot"]


def _write_jsonl(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def sentiment_corpus(root: Path) -> tuple[Path, Path]:
    """Separable toy reviews: one polar word among filler; train is 60% pos."""
    rng = np.random.default_rng(0)

    def docs(n_pos: int, n_neg: int) -> list[dict]:
        out = []
        for label, words, n in (("pos", POS, n_pos), ("neg", NEG, n_neg)):
            for _ in range(n):
                tokens = [*rng.choice(FILLER, 4), rng.choice(words)]
                out.append({"tokens": [str(t) for t in tokens], "label": label})
        return out

    tokens = root / "tokens"
    for split, (n_pos, n_neg) in {"train": (30, 20), "validation": (6, 6), "test": (8, 12)}.items():
        _write_jsonl(tokens / f"{split}.jsonl", docs(n_pos, n_neg))
    vocab = root / "vocab.json"
    vocab.write_text(json.dumps({"tokens": ["<pad>", "<unk>"], "label_names": ["neg", "pos"]}))
    return tokens, vocab


NER_TRAIN = [
    (["Ann", "visited", "Paris", "."], ["B-per", "O", "B-geo", "O"]),
    (["Ann", "Lee", "left", "New", "York"], ["B-per", "I-per", "O", "B-geo", "I-geo"]),
    (["Paris", "is", "big"], ["B-geo", "O", "O"]),
    (["Lee", "is", "here"], ["I-per", "O", "O"]),  # Lee: I-per twice, B-per never
]
NER_TEST = [
    (["Ann", "Lee", "visited", "York"], ["B-per", "I-per", "O", "I-geo"]),
    (["Bob", "left", "Paris"], ["B-per", "O", "B-geo"]),  # Bob is unseen -> O
]
NER_LABELS = ["O", "B-geo", "B-per", "I-geo", "I-per"]


def ner_corpus(root: Path) -> tuple[Path, Path]:
    tokens = root / "tokens"
    as_records = [{"tokens": w, "tags": t} for w, t in NER_TRAIN]
    _write_jsonl(tokens / "train.jsonl", as_records)
    for split in ("validation", "test"):
        _write_jsonl(tokens / f"{split}.jsonl", [{"tokens": w, "tags": t} for w, t in NER_TEST])
    vocab = root / "vocab.json"
    vocab.write_text(json.dumps({"tokens": ["<pad>", "<unk>"], "label_names": NER_LABELS}))
    return tokens, vocab


def only(result: dict) -> dict:
    """The baselines of a result's single group (whole splits unless groups are given)."""
    assert len(result["groups"]) == 1, result["groups"]
    return result["groups"][0]["baselines"]


def test_bow_logreg_beats_majority_on_separable_text(tmp_path: Path) -> None:
    tokens, vocab = sentiment_corpus(tmp_path)
    result = compute_baselines("sentiment", tokens, vocab, dataset="toy")
    assert result["headline_metric"] == HEADLINE["sentiment"] == "accuracy"
    assert result["groups"][0]["evaluated_on"] == "test, all 20 examples"
    majority = only(result)[MAJORITY]
    assert majority["label"] == "pos"
    assert majority["test"]["accuracy"] == pytest.approx(8 / 20)
    assert majority["test"]["auc"] == pytest.approx(0.5)
    bow = only(result)[BOW]
    assert bow["test"] == {"accuracy": 1.0, "f1": 1.0, "auc": 1.0}
    assert bow["settings"]["vectorizer"] == "count"
    assert bow["settings"]["features"] == len(POS) + len(NEG) + len(FILLER)
    assert baseline_scores(result) == {MAJORITY: 0.4, BOW: 1.0}

    tfidf = compute_baselines("sentiment", tokens, vocab, vectorizer="tfidf")
    assert only(tfidf)[BOW]["test"]["accuracy"] == 1.0


def test_single_class_training_labels_skip_bow(tmp_path: Path) -> None:
    tokens, vocab = sentiment_corpus(tmp_path)
    train = [json.loads(x) for x in (tokens / "train.jsonl").read_text().splitlines()]
    _write_jsonl(tokens / "train.jsonl", [{**r, "label": "neg"} for r in train])
    result = compute_baselines("sentiment", tokens, vocab)
    assert "skipped" in only(result)[BOW]
    assert list(baseline_scores(result)) == [MAJORITY]


def test_most_frequent_tag_tagger(tmp_path: Path) -> None:
    tagger = most_frequent_tagger(*zip(*NER_TRAIN, strict=True), NER_LABELS)
    assert tagger["Ann"] == "B-per" and tagger["Lee"] == "I-per" and tagger["."] == "O"

    tokens, vocab = ner_corpus(tmp_path)
    result = compute_baselines("ner", tokens, vocab)
    assert result["headline_metric"] == "entity_f1"
    mft = only(result)[MOST_FREQUENT_TAG]["test"]
    # Predicted: [B-per I-per O I-geo] [O O B-geo]: 6 of 7 tokens right (Bob missed).
    assert mft["token_accuracy"] == pytest.approx(6 / 7)
    assert mft["non_o_accuracy"] == pytest.approx(4 / 5)
    # conlleval: gold per(Ann Lee), geo(York: a lone I-geo starts an entity), per(Bob),
    # geo(Paris) -> 4; predicted per(Ann Lee), geo(York), geo(Paris) -> 3, all right.
    assert mft["entity_precision"] == pytest.approx(1.0)
    assert mft["entity_recall"] == pytest.approx(3 / 4)
    assert mft["entity_f1"] == pytest.approx(6 / 7)
    # strict IOB2: York is no entity, gold 3, predicted per(Ann Lee), geo(Paris): 2 right.
    assert mft["strict_entity_recall"] == pytest.approx(2 / 3)
    assert mft["strict_entity_f1"] == pytest.approx(0.8)
    assert set(mft["per_type"]) == {"per", "geo"}
    majority = only(result)[MAJORITY]
    assert majority["label"] == "O"
    assert majority["test"]["token_accuracy"] == pytest.approx(2 / 7)
    assert majority["test"]["entity_f1"] == 0.0


def test_most_frequent_tag_exact_on_a_consistent_corpus(tmp_path: Path) -> None:
    tokens, vocab = ner_corpus(tmp_path)
    consistent = [{"tokens": w, "tags": t} for w, t in NER_TRAIN[:3]]
    for split in ("train", "validation", "test"):
        _write_jsonl(tokens / f"{split}.jsonl", consistent)
    mft = only(compute_baselines("ner", tokens, vocab))[MOST_FREQUENT_TAG]["test"]
    assert mft["token_accuracy"] == mft["entity_f1"] == 1.0


def test_memory_majority_and_json(tmp_path: Path) -> None:
    from rnnbench.analysis.baselines import memory_baselines
    from rnnbench.data.arrays import EncodedMeta, Split, save_encoded

    paths = []
    for length in (20, 5):
        meta = EncodedMeta("memory", "memory", length, "post", "post", 0, 2, ["-1", "+1"])
        splits = {
            s: Split(
                x=np.zeros((n, length), np.float32),
                lengths=np.full(n, length, np.int32),
                y=(np.arange(n) < n // 2).astype(np.int64),
            )
            for s, n in (("train", 10), ("validation", 4), ("test", 6))
        }
        paths.append(tmp_path / f"len{length}.npz")
        save_encoded(paths[-1], meta, splits)
    result = compute_baselines("memory", encoded=paths)
    # one group per encoded length, in length order
    assert [g["length"] for g in result["groups"]] == [5, 20]
    assert all(g["baselines"][MAJORITY]["test"]["accuracy"] == 0.5 for g in result["groups"])
    assert memory_baselines(paths[:1])[0]["baselines"][MAJORITY]["label"] == "-1"

    out = tmp_path / "b" / "baselines.json"
    write_baselines(out, {**result, "nan": math.nan})
    assert json.loads(out.read_text())["nan"] is None


def test_errors_name_the_file(tmp_path: Path) -> None:
    from rnnbench.analysis.collect import AnalysisError

    tokens, vocab = sentiment_corpus(tmp_path)
    (tokens / "test.jsonl").unlink()
    with pytest.raises(AnalysisError, match=r"test\.jsonl"):
        compute_baselines("sentiment", tokens, vocab)
    with pytest.raises(AnalysisError, match=r"nothing\.json"):
        compute_baselines("ner", tokens, tmp_path / "nothing.json")


# --- the bag of words at the models' length (issue 22) ----------------------------------


def _corpus(root: Path, split_docs: dict[str, list[tuple[list[str], str]]]) -> tuple[Path, Path]:
    tokens = root / "tokens"
    for split, docs in split_docs.items():
        _write_jsonl(tokens / f"{split}.jsonl", [{"tokens": t, "label": y} for t, y in docs])
    vocab = root / "vocab.json"
    vocab.write_text(json.dumps({"tokens": ["<pad>", "<unk>"], "label_names": ["neg", "pos"]}))
    return tokens, vocab


def _late_signal(n_pos: int, n_neg: int) -> list[tuple[list[str], str]]:
    """Every document opens with the same two words; its polar word comes last."""
    return [(["the", "film", "was", "great"], "pos")] * n_pos + [
        (["the", "film", "was", "awful"], "neg")
    ] * n_neg


@pytest.mark.parametrize("truncating", ["post", "pre"])
def test_length_matched_bow_reads_exactly_the_models_tokens(
    tmp_path: Path, truncating: str
) -> None:
    """Whole and truncated documents disagree: the first 2 tokens ("the film") say
    nothing, the last 2 ("was great"/"was awful") everything. A model of length 2 with
    truncating "post" sees the first two, with "pre" the last two (data.encode's cut)."""
    tokens, vocab = _corpus(
        tmp_path,
        {"train": _late_signal(6, 4), "validation": _late_signal(3, 3), "test": _late_signal(2, 3)},
    )
    groups = [{"length": 2, "train_subsample": None, "eval_subsample": None, "seeds": [0]}]
    result = compute_baselines("sentiment", tokens, vocab, groups=groups, truncating=truncating)
    (group,) = result["groups"]
    at_length, whole = group["baselines"][BOW], group["baselines"][BOW_WHOLE]
    # whole documents: the polar word decides, every test row right
    assert whole["test"]["accuracy"] == 1.0 and whole["settings"]["features"] == 5
    if truncating == "post":
        # the models' tokens: "the", "film" only; every row looks alike, so the fit can
        # only predict the training majority (pos, 6 of 10): 2 of 5 test rows right
        assert at_length["settings"]["features"] == 2
        assert at_length["test"]["accuracy"] == pytest.approx(2 / 5)
        assert at_length["validation"]["accuracy"] == pytest.approx(3 / 6)
        assert at_length["reads"] == "the models' tokens: the first 2 tokens of each document"
    else:
        assert at_length["settings"]["features"] == 3  # was, great, awful
        assert at_length["test"]["accuracy"] == 1.0
    assert whole["reads"].startswith("whole documents")
    # the table shows both, the whole-document one once, labelled
    rows = baseline_rows(result)
    names = [(r["name"], r["length"]) for r in rows]
    assert (BOW, 2) in names and (BOW_WHOLE, None) in names
    assert names.count((BOW_WHOLE, None)) == 1


def test_bow_classifier_is_fitted_on_the_training_rows_only(tmp_path: Path) -> None:
    """Worked by hand: in train (and validation) "great" is pos and "awful" neg; in test
    the labels are swapped. Fitted on the training rows, the classifier predicts pos for
    "great", so every test row is wrong: test accuracy 0.0, validation 1.0. Fitted (the
    bug) on the test rows it would learn the swapped mapping: test 1.0, validation 0.0."""
    swapped = [(["great"], "neg")] * 3 + [(["awful"], "pos")] * 3
    straight = [(["great"], "pos")] * 5 + [(["awful"], "neg")] * 5
    tokens, vocab = _corpus(
        tmp_path, {"train": straight, "validation": straight[3:7], "test": swapped}
    )
    for groups in (
        None,
        [{"length": 1, "train_subsample": None, "eval_subsample": None, "seeds": []}],
    ):
        result = compute_baselines("sentiment", tokens, vocab, groups=groups)
        bow = only(result)[BOW]
        assert bow["test"]["accuracy"] == 0.0
        assert bow["validation"]["accuracy"] == 1.0
        # the majority baseline too: train is balanced 5/5, so its label is the first
        # class met by majority_label's tie rule, scored on test's 3/3 split: 0.5
        assert only(result)[MAJORITY]["test"]["accuracy"] == 0.5
