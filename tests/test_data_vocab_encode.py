"""Vocabulary rules and encoding: ids, max_size, min_freq, ties, pad/truncate, NER tags."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import validated
from rnnbench.data.arrays import IGNORE_INDEX, load_encoded
from rnnbench.data.encode import encode_split, pad_truncate
from rnnbench.data.stages import build_vocab_file, encode_dataset
from rnnbench.data.vocab import PAD, UNK, Vocab, build_vocab
from rnnbench.io import write_jsonl_atomic

# counts: the 4, movie 3, good 2, bad 2, plot 1, twist 1 (first appearances in this order:
# the, movie, good, plot, bad, twist)
TRAIN = [
    ["the", "movie", "good"],
    ["the", "plot", "movie", "bad"],
    ["the", "good", "twist"],
    ["the", "movie", "bad"],
]


def test_specials_come_first() -> None:
    vocab = build_vocab(TRAIN, ["neg", "pos"])
    assert vocab.tokens[:2] == [PAD, UNK] == ["<pad>", "<unk>"]
    assert vocab.index[PAD] == 0 and vocab.index[UNK] == 1


def test_frequency_order_ties_by_first_appearance() -> None:
    vocab = build_vocab(TRAIN, ["neg", "pos"])
    assert vocab.tokens == [PAD, UNK, "the", "movie", "good", "bad", "plot", "twist"]


def test_max_size_counts_the_specials() -> None:
    vocab = build_vocab(TRAIN, ["neg", "pos"], max_size=5)
    assert len(vocab) == 5
    assert vocab.tokens == [PAD, UNK, "the", "movie", "good"]  # good beats bad: seen first
    assert build_vocab(TRAIN, [], max_size=100).tokens == build_vocab(TRAIN, []).tokens


def test_min_freq() -> None:
    assert build_vocab(TRAIN, [], min_freq=2).tokens == [PAD, UNK, "the", "movie", "good", "bad"]
    assert build_vocab(TRAIN, [], min_freq=4).tokens == [PAD, UNK, "the"]
    assert build_vocab(TRAIN, [], max_size=4, min_freq=3).tokens == [PAD, UNK, "the", "movie"]


def test_special_strings_in_text_are_not_duplicated() -> None:
    vocab = build_vocab([["<unk>", "<pad>", "a", "<unk>"]], [])
    assert vocab.tokens == [PAD, UNK, "a"]


def test_ids_map_unknown_tokens_to_unk() -> None:
    vocab = build_vocab(TRAIN, ["neg", "pos"])
    assert vocab.ids(["the", "zebra", "twist", "<pad>"]) == [2, 1, 7, 0]


def test_vocab_roundtrip(tmp_path: Path) -> None:
    vocab = build_vocab(TRAIN, ["neg", "pos"], max_size=6, min_freq=1)
    vocab.save(tmp_path / "vocab.json")
    saved = json.loads((tmp_path / "vocab.json").read_text())
    assert saved == {
        "tokens": vocab.tokens,
        "label_names": ["neg", "pos"],
        "max_size": 6,
        "min_freq": 1,
    }
    loaded = Vocab.load(tmp_path / "vocab.json")
    assert loaded == vocab and loaded.index == vocab.index


def _token_files(tmp_path: Path, splits: dict[str, list[dict]]) -> dict[str, str]:
    paths = {}
    for split, records in splits.items():
        paths[split] = str(tmp_path / "tokens" / f"{split}.jsonl")
        write_jsonl_atomic(paths[split], records)
    return paths


def test_vocab_file_uses_train_tokens_only_and_labels_of_all_splits(tmp_path: Path) -> None:
    ds = validated({"task": "sentiment", "format": "aclimdb", "url": "a", "grid": {"lengths": [4]}})
    ds["vocab"] = {"max_size": None, "min_freq": 1}
    paths = _token_files(
        tmp_path,
        {
            "train": [{"tokens": ["good", "film"], "label": "pos"}],
            "validation": [{"tokens": ["valonly"], "label": "neg"}],
            "test": [{"tokens": ["testonly", "good"], "label": "mixed"}],
        },
    )
    build_vocab_file(ds, paths, tmp_path / "vocab.json")
    vocab = Vocab.load(tmp_path / "vocab.json")
    assert vocab.tokens == [PAD, UNK, "good", "film"]
    assert vocab.label_names == ["mixed", "neg", "pos"]


def test_vocab_file_ner_tags_put_o_first(tmp_path: Path) -> None:
    ds = validated({"task": "ner", "format": "conll", "url": "a", "grid": {"lengths": [4]}})
    ds["vocab"] = {"max_size": 3, "min_freq": 1}
    paths = _token_files(
        tmp_path,
        {
            "train": [{"tokens": ["Ann", "in", "Rome"], "tags": ["B-per", "O", "B-geo"]}],
            "validation": [{"tokens": ["Bo"], "tags": ["B-per"]}],
            "test": [{"tokens": ["EU"], "tags": ["B-org"]}],
        },
    )
    build_vocab_file(ds, paths, tmp_path / "vocab.json")
    vocab = Vocab.load(tmp_path / "vocab.json")
    assert vocab.tokens == [PAD, UNK, "Ann"]
    assert vocab.label_names == ["O", "B-geo", "B-org", "B-per"]


# --- pad / truncate -----------------------------------------------------------------------------

SEQS = [[1, 2, 3, 4, 5, 6], [7, 8], [9, 10, 11, 12]]


@pytest.mark.parametrize(
    ("padding", "truncating", "expected"),
    [
        ("post", "post", [[1, 2, 3, 4], [7, 8, 0, 0], [9, 10, 11, 12]]),
        ("post", "pre", [[3, 4, 5, 6], [7, 8, 0, 0], [9, 10, 11, 12]]),
        ("pre", "post", [[1, 2, 3, 4], [0, 0, 7, 8], [9, 10, 11, 12]]),
        ("pre", "pre", [[3, 4, 5, 6], [0, 0, 7, 8], [9, 10, 11, 12]]),
    ],
)
def test_pad_truncate(padding: str, truncating: str, expected: list[list[int]]) -> None:
    x, lengths = pad_truncate(SEQS, 4, padding, truncating)
    assert x.dtype == np.int32 and lengths.dtype == np.int32
    assert x.tolist() == expected
    assert lengths.tolist() == [4, 2, 4]


def test_pad_truncate_longer_length_value_dtype_and_empty() -> None:
    x, lengths = pad_truncate([[5], []], 3, "pre", "pre", value=-7, dtype=np.int64)
    assert x.dtype == np.int64
    assert x.tolist() == [[-7, -7, 5], [-7, -7, -7]]
    assert lengths.tolist() == [1, 0]
    x, lengths = pad_truncate([], 3)
    assert x.shape == (0, 3) and lengths.shape == (0,)


def test_encode_sentiment_split() -> None:
    vocab = build_vocab(TRAIN, ["neg", "pos"])
    records = [
        {"tokens": ["the", "movie", "zebra"], "label": "pos"},
        {"tokens": ["bad"], "label": "neg"},
    ]
    split = encode_split(records, vocab, 2, "post", "pre")
    assert split.x.tolist() == [[3, 1], [5, 0]]
    assert split.lengths.tolist() == [2, 1]
    assert split.y.tolist() == [1, 0] and split.y.dtype == np.int64


@pytest.mark.parametrize("padding", ["post", "pre"])
def test_encode_ner_tags_ignore_padding(padding: str) -> None:
    vocab = build_vocab([["Ann", "in", "Rome"]], ["O", "B-geo", "B-per"])
    records = [
        {"tokens": ["Ann", "in", "Rome"], "tags": ["B-per", "O", "B-geo"]},
        {"tokens": ["Rome"], "tags": ["B-geo"]},
    ]
    split = encode_split(records, vocab, 5, padding, "post")
    assert split.y.dtype == np.int64 and split.y.shape == (2, 5)
    pad = IGNORE_INDEX
    if padding == "post":
        assert split.x.tolist() == [[2, 3, 4, 0, 0], [4, 0, 0, 0, 0]]
        assert split.y.tolist() == [[2, 0, 1, pad, pad], [1, pad, pad, pad, pad]]
    else:
        assert split.x.tolist() == [[0, 0, 2, 3, 4], [0, 0, 0, 0, 4]]
        assert split.y.tolist() == [[pad, pad, 2, 0, 1], [pad, pad, pad, pad, 1]]
    assert ((split.x == 0) == (split.y == IGNORE_INDEX)).all()


def test_encode_ner_truncates_tags_with_tokens() -> None:
    vocab = build_vocab([["a", "b", "c"]], ["O", "B-x"])
    records = [{"tokens": ["a", "b", "c"], "tags": ["B-x", "O", "B-x"]}]
    assert encode_split(records, vocab, 2, "post", "post").y.tolist() == [[1, 0]]
    assert encode_split(records, vocab, 2, "post", "pre").y.tolist() == [[0, 1]]


def test_encode_dataset_writes_every_split(tmp_path: Path) -> None:
    ds = validated({"task": "ner", "format": "conll", "url": "a", "grid": {"lengths": [3]}})
    ds["padding"] = "pre"
    rows = {
        "train": [{"tokens": ["Ann", "in", "Rome", "now"], "tags": ["B-per", "O", "B-geo", "O"]}],
        "validation": [{"tokens": ["Bo"], "tags": ["B-per"]}],
        "test": [{"tokens": ["in", "Oslo"], "tags": ["O", "B-geo"]}],
    }
    paths = _token_files(tmp_path, rows)
    build_vocab_file(ds, paths, tmp_path / "vocab.json")
    encode_dataset("tiny", ds, paths, tmp_path / "vocab.json", 3, tmp_path / "len3.npz")
    data = load_encoded(tmp_path / "len3.npz")
    assert data.meta.dataset == "tiny" and data.meta.task == "ner" and data.meta.length == 3
    assert (data.meta.padding, data.meta.truncating) == ("pre", "post")
    assert data.meta.vocab_size == 6 and data.meta.num_classes == 3
    assert data.meta.label_names == ["O", "B-geo", "B-per"]
    test = data.splits["test"]
    assert test.x.tolist() == [[0, 3, 1]]  # "Oslo" is not in the train vocabulary
    assert test.y.tolist() == [[IGNORE_INDEX, 0, 1]]
    assert data.splits["train"].lengths.tolist() == [3]
    for split in data.splits.values():
        assert split.x.dtype == np.int32 and split.lengths.dtype == np.int32
        assert split.y.dtype == np.int64
