"""NER scored like the literature: conlleval entity F1 as the headline, strict IOB2 as a
second column, and every sentence scored in full, a token cut off by the sequence length
counting as predicted "O" - for the models and the baselines alike.

Every expected number is worked out by hand in the comments (never by calling seqeval).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rnnbench.analysis.baselines import MAJORITY, MOST_FREQUENT_TAG, compute_baselines
from rnnbench.data.arrays import IGNORE_INDEX, EncodedMeta, Split, load_encoded, save_encoded
from rnnbench.data.encode import encode_split
from rnnbench.data.vocab import Vocab
from rnnbench.metrics import cut_predictions, majority_score, ner_metrics
from rnnbench.train.batches import subsample

TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
O, BP, IP, BL, IL = range(5)  # noqa: E741 (tag ids named as the tags)
P = IGNORE_INDEX


# ------------------------------------------------------------ conlleval vs strict IOB2


def test_conlleval_headline_and_strict_second_column_differ_on_ill_formed_tags() -> None:
    gold = np.array(
        [
            [BP, IP, O, BL],  # PER(0-1), LOC(3)
            [O, BL, IL, O],  # LOC(1-2)
        ]
    )
    pred = np.array(
        [
            [O, IP, O, BL],  # a lone I-PER, LOC(3) right
            [O, IL, IL, O],  # I-LOC I-LOC with no B-LOC
        ]
    )
    m = ner_metrics(gold, pred, TAGS)
    # Gold entities: PER(s1 0-1), LOC(s1 3), LOC(s2 1-2) -> 3.
    # conlleval: an I- after O starts an entity. Predicted PER(s1 1-1) (wrong span),
    # LOC(s1 3) (right), LOC(s2 1-2) (right) -> 3 predicted, 2 right:
    # P = 2/3, R = 2/3, F1 = 2/3.
    assert m["entity_precision"] == pytest.approx(2 / 3)
    assert m["entity_recall"] == pytest.approx(2 / 3)
    assert m["entity_f1"] == pytest.approx(2 / 3)
    # strict IOB2: both ill-formed I- runs are no entity. Predicted LOC(s1 3) only, right:
    # P = 1/1, R = 1/3, F1 = 2 * 1 * (1/3) / (1 + 1/3) = 1/2.
    assert m["strict_entity_precision"] == pytest.approx(1.0)
    assert m["strict_entity_recall"] == pytest.approx(1 / 3)
    assert m["strict_entity_f1"] == pytest.approx(1 / 2)
    # per type (conlleval): PER 0 of 1 predicted right (gold 1) -> F1 0;
    # LOC 2 of 2 predicted right, gold 2 -> F1 1.
    assert m["per_type"]["PER"]["f1"] == 0.0
    assert m["per_type"]["LOC"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 2}
    # tokens: 8; wrong: s1 position 0 (O for B-PER), s2 position 1 (I-LOC for B-LOC)
    # -> 6/8
    assert m["token_accuracy"] == pytest.approx(6 / 8)


# ------------------------------------------------------------ cut-off tokens are "O"

# A 5-token sentence, a model of length 3: PER at 0 is kept, LOC at 3-4 is cut off.
FULL = [BP, O, O, BL, IL]


def test_entity_beyond_the_cut_is_a_false_negative_for_the_model() -> None:
    kept_gold = np.array([[BP, O, O]])  # the encoded row at length 3 ("post" cut)
    perfect = kept_gold.copy()  # the model gets every token it sees right
    # Without the full tags only the kept tokens are scored: everything is right.
    assert ner_metrics(kept_gold, perfect, TAGS)["entity_f1"] == 1.0
    m = ner_metrics(kept_gold, perfect, TAGS, full_tags=[np.array(FULL)], truncating="post")
    # Scored in full, "B-LOC I-LOC" cut off -> predicted "O O": gold PER, LOC (2);
    # predicted PER (1), right -> P 1, R 1/2, F1 2 * 1 * 0.5 / 1.5 = 2/3 (both modes).
    assert m["entity_precision"] == pytest.approx(1.0)
    assert m["entity_recall"] == pytest.approx(1 / 2)
    assert m["entity_f1"] == pytest.approx(2 / 3)
    assert m["strict_entity_f1"] == pytest.approx(2 / 3)
    assert m["per_type"]["LOC"]["recall"] == 0.0 and m["per_type"]["LOC"]["support"] == 1
    # tokens: 3 kept right + 2 cut off wrong -> 3/5; gold non-O: B-PER, B-LOC, I-LOC -> 1/3
    assert m["token_accuracy"] == pytest.approx(3 / 5)
    assert m["non_o_accuracy"] == pytest.approx(1 / 3)

    # "pre" truncation keeps the last 3 tokens: now PER is the one cut off. Pre-padding
    # of a shorter row must not matter either (padding is never scored).
    kept_pre = np.array([[O, BL, IL], [P, P, BL]])
    m = ner_metrics(
        kept_pre,
        kept_pre.clip(0),
        TAGS,
        full_tags=[np.array(FULL), np.array([BL])],
        truncating="pre",
    )
    # gold: PER, LOC (s1), LOC (s2) -> 3; predicted LOC (s1), LOC (s2) -> P 1, R 2/3, F1 0.8
    assert m["entity_f1"] == pytest.approx(0.8)
    assert m["token_accuracy"] == pytest.approx(5 / 6)  # only s1's cut-off B-PER is wrong


def test_cut_predictions_and_misaligned_full_tags() -> None:
    assert cut_predictions(["B-PER"], 3, "post") == ["B-PER", "O", "O"]
    assert cut_predictions(["B-PER"], 3, "pre") == ["O", "O", "B-PER"]
    with pytest.raises(ValueError, match="kept"):
        # the kept tags are not the first tokens of the sentence they claim to be from
        ner_metrics(np.array([[O, O, O]]), np.array([[O, O, O]]), TAGS, [np.array(FULL)])


def test_majority_tag_is_scored_on_whole_sentences() -> None:
    # Always "O" on [B-PER O O | B-LOC I-LOC]: 2 of 5 tokens right, cut or not.
    kept = np.array([[BP, O, O]])
    assert majority_score(kept, O) == pytest.approx(2 / 3)  # kept tokens only
    full = majority_score(kept, O, full_tags=[np.array(FULL)], label_names=TAGS)
    assert full == pytest.approx(2 / 5)


def test_full_tags_are_stored_and_subsampled_with_their_rows(tmp_path: Path) -> None:
    vocab = Vocab(tokens=["<pad>", "<unk>", "Ann", "Paris"], label_names=TAGS)
    records = [
        {
            "tokens": ["Ann", "x", "y", "Paris", "Paris"],
            "tags": ["B-PER", "O", "O"] + ["B-LOC"] * 2,
        },
        {"tokens": ["Paris"], "tags": ["B-LOC"]},
        {"tokens": ["Ann", "Ann"], "tags": ["B-PER", "I-PER"]},
    ]
    split = encode_split(records, vocab, 3, "post", "post")
    assert split.y[0].tolist() == [BP, O, O]  # the model's row is cut at 3...
    assert [t.tolist() for t in split.full_tags] == [[BP, O, O, BL, BL], [BL], [BP, IP]]
    meta = EncodedMeta("toy", "ner", 3, "post", "post", len(vocab), len(TAGS), TAGS)
    save_encoded(tmp_path / "len3.npz", meta, {s: split for s in ("train", "validation", "test")})
    loaded = load_encoded(tmp_path / "len3.npz").splits["test"]
    assert [t.tolist() for t in loaded.full_tags] == [[BP, O, O, BL, BL], [BL], [BP, IP]]
    picked = subsample(loaded, 2, seed=0, train=False)
    for row, full in zip(picked.y, picked.full_tags, strict=True):
        kept = row[row != IGNORE_INDEX]
        assert full[: kept.size].tolist() == kept.tolist()
    # a sentiment split has no full tags, and the file stays as before
    plain = Split(np.zeros((2, 3), np.int32), np.ones(2, np.int32), np.array([0, 1]))
    assert plain.full_tags is None


# ------------------------------------------------------------ the baseline alike


def _write_jsonl(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def test_entity_beyond_the_cut_is_a_false_negative_for_the_baseline(tmp_path: Path) -> None:
    train = [
        (["Ann", "met", "Bob", "in", "Paris"], ["B-per", "O", "B-per", "O", "B-geo"]),
        (["Paris", "is", "big"], ["B-geo", "O", "O"]),
    ]
    test = [(["Ann", "saw", "Bob", "in", "Paris"], ["B-per", "O", "B-per", "O", "B-geo"])]
    tokens = tmp_path / "tokens"
    _write_jsonl(tokens / "train.jsonl", [{"tokens": w, "tags": t} for w, t in train])
    for split in ("validation", "test"):
        _write_jsonl(tokens / f"{split}.jsonl", [{"tokens": w, "tags": t} for w, t in test])
    vocab = tmp_path / "vocab.json"
    vocab.write_text(json.dumps({"tokens": ["<pad>"], "label_names": ["O", "B-geo", "B-per"]}))

    # Whole sentences (no length): the tagger knows Ann, Bob (B-per), in (O), Paris
    # (B-geo) and "saw" is unseen -> O: every tag right, entity F1 1.
    whole = compute_baselines("ner", tokens, vocab)["groups"][0]["baselines"]
    assert whole[MOST_FREQUENT_TAG]["test"]["entity_f1"] == 1.0

    groups = [{"length": 3, "train_subsample": None, "eval_subsample": None, "seeds": [0]}]
    result = compute_baselines("ner", tokens, vocab, groups=groups, truncating="post")
    (group,) = result["groups"]
    assert group["length"] == 3
    mft = group["baselines"][MOST_FREQUENT_TAG]["test"]
    # Length 3: the tagger sees "Ann saw Bob" -> B-per O B-per; "in Paris" is cut off ->
    # O O although the tagger knows Paris (from train sentence 2). Gold per, per, geo
    # (3); predicted per, per (2), right -> P 1, R 2/3, F1 2 * (2/3) / (5/3) = 0.8.
    assert mft["entity_precision"] == pytest.approx(1.0)
    assert mft["entity_recall"] == pytest.approx(2 / 3)
    assert mft["entity_f1"] == pytest.approx(0.8)
    assert mft["strict_entity_f1"] == pytest.approx(0.8)
    assert mft["token_accuracy"] == pytest.approx(4 / 5)  # Paris wrong
    # Majority tag, fit on the kept training tags B-per O B-per | B-geo O O -> "O";
    # on whole test sentences 2 of 5 tags are O.
    majority = group["baselines"][MAJORITY]
    assert majority["label"] == "O"
    assert majority["test"]["token_accuracy"] == pytest.approx(2 / 5)

    # The model, scored by the same rule on the same sentence with the same
    # predictions on its 3 kept tokens, gets the same numbers.
    names = ["O", "B-geo", "B-per"]
    ids = [names.index(t) for t in test[0][1]]
    kept = np.array([ids[:3]])
    model = ner_metrics(kept, kept.copy(), names, full_tags=[np.array(ids)], truncating="post")
    assert model["entity_f1"] == pytest.approx(mft["entity_f1"])
    assert model["token_accuracy"] == pytest.approx(mft["token_accuracy"])
