"""Splitting (seeded, stratified carve; fractions), the split checks, and the data card."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import aclimdb, conll, gmb, gmb_sentences, table, validated
from rnnbench.data.datacard import length_percentiles, text_split_card
from rnnbench.data.splitting import (
    carve_validation,
    check_splits,
    label_counts,
    split_by_fractions,
)
from rnnbench.data.stages import (
    build_vocab_file,
    split_dataset,
    tokenize_split,
    write_text_datacard,
)
from rnnbench.data.vocab import build_vocab
from rnnbench.errors import DataError
from rnnbench.io import read_jsonl, write_jsonl_atomic

SPLITS = ("train", "validation", "test")


def _labelled(pos: int, neg: int) -> list[dict]:
    records = [{"text": f"p{i}", "label": "pos"} for i in range(pos)]
    records += [{"text": f"n{i}", "label": "neg"} for i in range(neg)]
    return records[::2] + records[1::2]  # interleave a little


# --- carve_validation ---------------------------------------------------------------------------


def test_stratified_carve_exact_counts_per_label() -> None:
    records = _labelled(pos=30, neg=10)
    train, validation = carve_validation(records, 0.1, seed=0, stratify=True)
    assert label_counts(validation) == {"neg": 1, "pos": 3}
    assert label_counts(train) == {"neg": 9, "pos": 27}
    assert sorted(r["text"] for r in train + validation) == sorted(r["text"] for r in records)


def test_carve_is_deterministic_for_a_seed_and_keeps_source_order() -> None:
    records = _labelled(pos=50, neg=50)
    first = carve_validation(records, 0.2, seed=7, stratify=True)
    assert carve_validation(records, 0.2, seed=7, stratify=True) == first
    assert carve_validation(records, 0.2, seed=8, stratify=True)[1] != first[1]
    position = {r["text"]: i for i, r in enumerate(records)}
    for part in first:
        indexes = [position[r["text"]] for r in part]
        assert indexes == sorted(indexes)


def test_unstratified_carve_counts() -> None:
    records = [{"tokens": [str(i)], "tags": ["O"]} for i in range(25)]
    train, validation = carve_validation(records, 0.2, seed=0, stratify=False)
    assert (len(train), len(validation)) == (20, 5)


def test_carve_too_small_gives_an_empty_validation_that_check_splits_refuses() -> None:
    records = _labelled(pos=3, neg=3)
    train, validation = carve_validation(records, 0.1, seed=0, stratify=True)
    assert validation == [] and len(train) == 6
    with pytest.raises(DataError, match="the validation split is empty \\(hint\\)"):
        check_splits("tiny", {"train": train, "validation": validation, "test": train}, " (hint)")


# --- split_by_fractions ---------------------------------------------------------------------------


@pytest.mark.parametrize("n", [3, 10, 17, 99, 1000])
@pytest.mark.parametrize(
    "fractions",
    [
        {"train": 0.8, "validation": 0.1, "test": 0.1},
        {"train": 0.45, "validation": 0.45, "test": 0.1},
        {"train": 0.6, "validation": 0.25, "test": 0.15},
    ],
)
def test_split_by_fractions_counts_sum_to_total(n: int, fractions: dict) -> None:
    records = [{"id": i} for i in range(n)]
    parts = split_by_fractions(records, fractions, seed=0)
    assert sum(len(p) for p in parts.values()) == n
    ids = sorted(r["id"] for p in parts.values() for r in p)
    assert ids == list(range(n))
    assert abs(len(parts["train"]) - n * fractions["train"]) <= 1
    assert abs(len(parts["validation"]) - n * fractions["validation"]) <= 1


def test_split_by_fractions_is_seeded_and_keeps_source_order() -> None:
    records = [{"id": i} for i in range(100)]
    fractions = {"train": 0.8, "validation": 0.1, "test": 0.1}
    parts = split_by_fractions(records, fractions, seed=3)
    assert parts == split_by_fractions(records, fractions, seed=3)
    assert parts["test"] != split_by_fractions(records, fractions, seed=4)["test"]
    assert [len(parts[s]) for s in SPLITS] == [80, 10, 10]
    for part in parts.values():
        ids = [r["id"] for r in part]
        assert ids == sorted(ids)


# --- check_splits ---------------------------------------------------------------------------------


def _ok() -> dict[str, list[dict]]:
    return {s: _labelled(2, 2) for s in SPLITS}


def test_check_splits_accepts_two_classes() -> None:
    check_splits("ok", _ok())


@pytest.mark.fault
@pytest.mark.parametrize("empty", SPLITS)
def test_check_splits_empty_split(empty: str) -> None:
    splits = _ok()
    splits[empty] = []
    with pytest.raises(DataError, match=f"dataset 'd': the {empty} split is empty"):
        check_splits("d", splits)


@pytest.mark.fault
def test_check_splits_missing_split() -> None:
    splits = _ok()
    del splits["validation"]
    with pytest.raises(DataError, match="the validation split is empty"):
        check_splits("d", splits)


@pytest.mark.fault
def test_check_splits_single_class() -> None:
    splits = _ok()
    splits["test"] = _labelled(pos=4, neg=0)
    with pytest.raises(DataError) as info:
        check_splits("imdb", splits)
    message = str(info.value)
    assert "dataset 'imdb'" in message
    assert "every label in the test split is 'pos' (4 examples)" in message
    assert "label_map" in message


@pytest.mark.fault
def test_check_splits_ner_all_outside() -> None:
    sentence = {"tokens": ["a", "b"], "tags": ["B-per", "O"]}
    splits = {s: [sentence] for s in SPLITS}
    splits["train"] = [{"tokens": ["a", "b"], "tags": ["O", "O"]}] * 3
    with pytest.raises(DataError, match="every tag in the train split is 'O' \\(3 examples\\)"):
        check_splits("gmb", splits)


# --- split_dataset --------------------------------------------------------------------------------


def _out(tmp_path: Path) -> dict[str, list[dict]]:
    return {s: read_jsonl(tmp_path / "out" / f"{s}.jsonl") for s in SPLITS}


def test_split_aclimdb_carves_a_stratified_validation(tmp_path: Path) -> None:
    ds = validated({"task": "sentiment", "format": "aclimdb", "url": "x", "grid": {"lengths": [5]}})
    ds["split"]["validation_fraction"] = 0.2
    tarball = aclimdb(tmp_path / "a.tar.gz", n_train=10, n_test=4)
    split_dataset("imdb", ds, {"all": str(tarball)}, tmp_path / "out")
    out = _out(tmp_path)
    assert {s: label_counts(r) for s, r in out.items()} == {
        "train": {"neg": 8, "pos": 8},
        "validation": {"neg": 2, "pos": 2},
        "test": {"neg": 4, "pos": 4},
    }
    assert all("test review" in r["text"] for r in out["test"])
    split_dataset("imdb", ds, {"all": str(tarball)}, tmp_path / "again")
    assert read_jsonl(tmp_path / "again" / "validation.jsonl") == out["validation"]


@pytest.mark.parametrize("name", ["ner.csv", "ner.csv.gz", "ner.zip"])
def test_split_gmb_80_10_10_by_sentence(tmp_path: Path, name: str) -> None:
    ds = validated({"task": "ner", "format": "gmb_csv", "url": "x", "grid": {"lengths": [5]}})
    sentences = gmb_sentences(40)
    split_dataset("gmb", ds, {"all": str(gmb(tmp_path / name, sentences))}, tmp_path / "out")
    out = _out(tmp_path)
    assert [len(out[s]) for s in SPLITS] == [32, 4, 4]
    expected = split_by_fractions(sentences, {"train": 0.8, "validation": 0.1, "test": 0.1}, 0)
    assert out == expected


def test_split_conll_files_per_split(tmp_path: Path) -> None:
    ds = validated({"task": "ner", "format": "conll", "url": "x", "grid": {"lengths": [5]}})
    ds["split"]["validation_fraction"] = 0.5
    train = conll(
        tmp_path / "train.txt", "A B-PER\nb O\n\nC B-LOC\nd O\n\nE B-ORG\nf O\n\nG O\nh B-PER"
    )
    test = conll(tmp_path / "test.txt", "x B-LOC\ny O")
    split_dataset("c", ds, {"train": str(train), "test": str(test)}, tmp_path / "out")
    out = _out(tmp_path)
    assert [len(out[s]) for s in SPLITS] == [2, 2, 1]


def test_split_table_with_given_validation_is_not_carved(tmp_path: Path) -> None:
    ds = validated(
        {"task": "sentiment", "format": "sentiment_table", "url": "x", "grid": {"lengths": [5]}}
    )
    rows = [["text", "label"]] + [[f"r{i}", ("pos", "neg")[i % 2]] for i in range(6)]
    sources = {s: str(table(tmp_path / f"{s}.csv", rows)) for s in SPLITS}
    split_dataset("t", ds, sources, tmp_path / "out")
    assert [len(r) for r in _out(tmp_path).values()] == [6, 6, 6]


@pytest.mark.fault
def test_split_dataset_aborts_on_a_single_class_source(tmp_path: Path) -> None:
    ds = validated(
        {"task": "sentiment", "format": "sentiment_table", "url": "x", "grid": {"lengths": [5]}}
    )
    rows = [["text", "label"]] + [[f"r{i}", "1"] for i in range(20)]
    sources = {
        "train": str(table(tmp_path / "train.csv", rows)),
        "test": str(table(tmp_path / "test.csv", rows)),
    }
    with pytest.raises(DataError, match="every label in the train split is '1'"):
        split_dataset("t", ds, sources, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.fault
def test_split_dataset_names_the_validation_fraction_when_carving_leaves_nothing(
    tmp_path: Path,
) -> None:
    ds = validated({"task": "sentiment", "format": "aclimdb", "url": "x", "grid": {"lengths": [5]}})
    ds["split"]["validation_fraction"] = 0.05
    tarball = aclimdb(tmp_path / "a.tar.gz", n_train=4, n_test=2)
    with pytest.raises(DataError, match=r"validation split is empty.*validation_fraction 0\.05"):
        split_dataset("imdb", ds, {"all": str(tarball)}, tmp_path / "out")


# --- data card --------------------------------------------------------------------------------------


def test_length_percentiles() -> None:
    assert length_percentiles([]) == {"p50": 0, "p90": 0, "p99": 0, "max": 0}
    assert length_percentiles(list(range(1, 101))) == {"p50": 50, "p90": 90, "p99": 99, "max": 100}


def test_text_split_card() -> None:
    vocab = build_vocab([["a", "b"]], ["neg", "pos"])
    records = [
        {"tokens": ["a", "b", "zz"], "label": "pos"},
        {"tokens": ["a"], "label": "neg"},
        {"tokens": ["a", "q", "b", "c"], "label": "pos"},
    ]
    card = text_split_card(records, vocab, dropped_empty=2)
    assert card == {
        "examples": 3,
        "label_counts": {"neg": 1, "pos": 2},
        "token_length": {"p50": 3, "p90": 3, "p99": 3, "max": 4},
        "tokens": 8,
        "oov_rate": 0.375,
        "dropped_empty": 2,
    }
    ner = text_split_card([{"tokens": ["a"], "tags": ["B-x"]}], vocab)
    assert ner["tag_counts"] == {"B-x": 1} and "label_counts" not in ner


def test_write_text_datacard(tmp_path: Path) -> None:
    ds = validated({"task": "sentiment", "format": "aclimdb", "url": "u", "grid": {"lengths": [5]}})
    ds["text"]["tokenizer"] = "basic_english"
    split_paths, token_paths = {}, {}
    for split in SPLITS:
        split_paths[split] = str(tmp_path / "split" / f"{split}.jsonl")
        token_paths[split] = str(tmp_path / "tokens" / f"{split}.jsonl")
        records = [
            {"text": "Good film.", "label": "pos"},
            {"text": "Bad.", "label": "neg"},
            {"text": "<br />", "label": "neg"},  # empty after strip_html: dropped
        ]
        write_jsonl_atomic(split_paths[split], records)
        tokenize_split(ds, split_paths[split], token_paths[split])
    build_vocab_file(ds, token_paths, tmp_path / "vocab.json")
    write_text_datacard(
        "imdb", ds, split_paths, token_paths, tmp_path / "vocab.json", tmp_path / "card.json"
    )
    card = json.loads((tmp_path / "card.json").read_text())
    assert card["dataset"] == "imdb" and card["source"] == "u"
    assert card["tokenizer"] == "basic_english" and card["lowercase"] is True
    assert card["vocab_size"] == 6 and card["labels"] == ["neg", "pos"]
    assert card["splits"]["test"]["examples"] == 2
    assert card["splits"]["test"]["dropped_empty"] == 1
    assert card["splits"]["train"]["oov_rate"] == 0.0
