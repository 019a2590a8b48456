"""Tokenizers and text options: spaCy, torchtext's basic_english, lowercase, strip_html."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from conftest import validated
from rnnbench.data.stages import lowercase_for, tokenize_split
from rnnbench.data.tokenize import basic_english, normalize, token_mapper, tokenize_texts
from rnnbench.io import read_jsonl, write_jsonl_atomic

# get_tokenizer("basic_english") of torchtext 0.18 on these inputs, worked out by hand from
# its pattern list (torchtext/data/utils.py, _basic_english_normalize); the first is the
# issue's own example.
TORCHTEXT_BASIC_ENGLISH = [
    (
        "Hello, World! It's <br />great.",
        ["hello", ",", "world", "!", "it", "'", "s", "great", "."],
    ),
    (
        'He said "no" (twice); then: left?',
        ["he", "said", "no", "(", "twice", ")", "then", "left", "?"],
    ),
    ("Don't   stop\tthe\nmusic...", ["don", "'", "t", "stop", "the", "music", ".", ".", "."]),
    ("A-ha 3.5/10 <i>meh</i>", ["a-ha", "3", ".", "5/10", "<i>meh</i>"]),
    ("", []),
]


@pytest.mark.parametrize(("text", "expected"), TORCHTEXT_BASIC_ENGLISH)
def test_basic_english_matches_torchtext(text: str, expected: list[str]) -> None:
    assert basic_english(text) == expected
    assert list(tokenize_texts([text], "basic_english")) == [expected]


def test_spacy_drops_whitespace_tokens() -> None:
    texts = ["Great  movie\n\n really!  ", "   ", "It's fine."]
    assert list(tokenize_texts(texts, "spacy", batch_size=2)) == [
        ["Great", "movie", "really", "!"],
        [],
        ["It", "'s", "fine", "."],
    ]


def test_spacy_keeps_order_across_batches() -> None:
    texts = [f"review {i} is here" for i in range(7)]
    out = list(tokenize_texts(texts, "spacy", batch_size=3))
    assert out == [["review", str(i), "is", "here"] for i in range(7)]


def test_unknown_tokenizer() -> None:
    with pytest.raises(ValueError, match="unknown tokenizer 'nltk'"):
        list(tokenize_texts(["x"], "nltk"))


@pytest.mark.parametrize(
    ("lowercase", "strip_html", "expected"),
    [
        (True, True, "good  film <3"),
        (False, True, "Good  Film <3"),
        (True, False, "good<br /><br />film <3"),
        (False, False, "Good<br /><br />Film <3"),
    ],
)
def test_normalize(lowercase: bool, strip_html: bool, expected: str) -> None:
    assert normalize("Good<br /><br />Film <3", lowercase, strip_html) == expected


def test_token_mapper() -> None:
    assert token_mapper(True)(["New", "YORK"]) == ["new", "york"]
    tokens = ["New", "YORK"]
    kept = token_mapper(False)(tokens)
    assert kept == tokens and kept is not tokens


def test_lowercase_default_depends_on_the_task() -> None:
    sentiment = validated({"task": "sentiment", "format": "aclimdb", "url": "a", "grid": _GRID})
    ner = validated({"task": "ner", "format": "conll", "url": "a", "grid": _GRID})
    assert lowercase_for(sentiment) is True
    assert lowercase_for(ner) is False
    ner["text"]["lowercase"] = True
    assert lowercase_for(ner) is True


_GRID = {"lengths": [10]}


def _sentiment(tmp_path: Path, text: dict) -> list[dict]:
    ds = validated(
        {"task": "sentiment", "format": "aclimdb", "url": "a", "text": text, "grid": _GRID}
    )
    src, out = tmp_path / "split.jsonl", tmp_path / "tokens.jsonl"
    write_jsonl_atomic(
        src,
        [
            {"text": "Loved it!<br /><br />Really GOOD.", "label": "pos"},
            {"text": "<br />", "label": "neg"},
            {"text": "Bad.", "label": "neg"},
        ],
    )
    tokenize_split(ds, src, out)
    return read_jsonl(out)


def test_tokenize_split_defaults_spacy_lowercase_strip_html(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="rnnbench.data")
    records = _sentiment(tmp_path, {})
    assert records == [
        {"tokens": ["loved", "it", "!", "really", "good", "."], "label": "pos"},
        {"tokens": ["bad", "."], "label": "neg"},
    ]
    assert "dropped 1 example(s) with no tokens" in caplog.text


def test_tokenize_split_options(tmp_path: Path) -> None:
    records = _sentiment(tmp_path, {"tokenizer": "spacy", "lowercase": False, "strip_html": False})
    assert records[0]["tokens"][:3] == ["Loved", "it!<br", "/><br"]
    assert "GOOD" in records[0]["tokens"]
    assert len(records) == 3  # "<br />" is kept as text, so nothing is empty


def test_tokenize_split_basic_english(tmp_path: Path) -> None:
    records = _sentiment(tmp_path, {"tokenizer": "basic_english", "strip_html": False})
    assert records[0]["tokens"] == ["loved", "it", "!", "really", "good", "."]


def test_tokenize_split_ner_keeps_given_tokens(tmp_path: Path) -> None:
    src, out = tmp_path / "split.jsonl", tmp_path / "tokens.jsonl"
    write_jsonl_atomic(
        src, [{"tokens": ["Ann", "visits", "Paris"], "tags": ["B-per", "O", "B-geo"]}]
    )
    ds = validated({"task": "ner", "format": "conll", "url": "a", "grid": _GRID})
    tokenize_split(ds, src, out)
    assert read_jsonl(out) == [
        {"tokens": ["Ann", "visits", "Paris"], "tags": ["B-per", "O", "B-geo"]}
    ]
    ds["text"]["lowercase"] = True
    tokenize_split(ds, src, out)
    assert read_jsonl(out)[0]["tokens"] == ["ann", "visits", "paris"]
