"""Readers: every format on tiny generated files, and every malformed input they refuse."""

from __future__ import annotations

import gzip
import re
import zipfile
from pathlib import Path

import pytest

from conftest import (
    CONLL_IOB1,
    GMB_ODD_WORDS,
    aclimdb,
    aclimdb_reviews,
    conll,
    gmb,
    gmb_csv_bytes,
    gmb_sentences,
    table,
    write_tar,
)
from rnnbench.data.readers import (
    read_aclimdb,
    read_conll,
    read_gmb_csv,
    read_sentiment_table,
    read_source,
    to_iob2,
)
from rnnbench.errors import DataError

fault = pytest.mark.fault


def _raises(match: str, *parts: str):
    """pytest.raises(DataError) whose message must contain every literal in ``parts``."""
    pattern = "".join(f"(?=.*{re.escape(p)})" for p in (match, *parts))
    return pytest.raises(DataError, match=re.compile(pattern, re.DOTALL))


# --- aclImdb ----------------------------------------------------------------------------


def test_aclimdb_reads_train_and_test_and_ignores_unsup(tmp_path: Path) -> None:
    data = read_aclimdb(aclimdb(tmp_path / "aclImdb_v1.tar.gz", n_train=6, n_test=3))
    assert set(data) == {"train", "test"}
    assert len(data["train"]) == 12 and len(data["test"]) == 6
    for split, records in data.items():
        assert {r["label"] for r in records} == {"pos", "neg"}
        assert sum(r["label"] == "pos" for r in records) == len(records) // 2
        assert all(set(r) == {"text", "label"} for r in records)
        assert all(f"{split} review" in r["text"] for r in records)
    texts = [r["text"] for r in data["train"]]
    assert not any("unlabelled" in t for t in texts)  # aclImdb/train/unsup/* is skipped
    assert all("<br /><br />" in t for t in texts)  # the reader keeps the raw text


def test_aclimdb_order_is_by_member_name_not_archive_order(tmp_path: Path) -> None:
    forward = read_aclimdb(aclimdb(tmp_path / "a.tar.gz"))
    backward = read_aclimdb(aclimdb(tmp_path / "b.tar.gz", reverse=True))
    assert forward == backward
    names = sorted(n for n in aclimdb_reviews() if "/train/" in n and "unsup" not in n)
    expected = [aclimdb_reviews()[n] for n in names]
    assert [r["text"] for r in forward["train"]] == expected


def test_aclimdb_under_a_prefix_and_uncompressed(tmp_path: Path) -> None:
    members = {f"v1/{name}": text for name, text in aclimdb_reviews(2, 2).items()}
    data = read_aclimdb(write_tar(tmp_path / "plain.tar", members, mode="w"))
    assert (len(data["train"]), len(data["test"])) == (4, 4)


@fault
def test_aclimdb_truncated_archive(tmp_path: Path) -> None:
    path = aclimdb(tmp_path / "aclImdb_v1.tar.gz", n_train=40, n_test=40)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with _raises("aclImdb_v1.tar.gz", "not a readable aclImdb tar archive", "truncated"):
        read_aclimdb(path)


@fault
@pytest.mark.parametrize("offset", [400, 1500])
def test_aclimdb_corrupt_archive_is_not_read_as_a_shorter_one(tmp_path: Path, offset: int) -> None:
    path = aclimdb(tmp_path / "aclImdb_v1.tar.gz", n_train=40, n_test=40)
    data = bytearray(path.read_bytes())
    data[offset : offset + 60] = bytes(60)  # garbles the stream; tarfile alone stops quietly
    path.write_bytes(bytes(data))
    with _raises("aclImdb_v1.tar.gz", "not a readable aclImdb tar archive"):
        read_aclimdb(path)


@fault
def test_aclimdb_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "aclImdb_v1.tar.gz"
    path.write_bytes(b"")
    with _raises("aclImdb_v1.tar.gz", "neither a tar nor a zip archive"):
        read_aclimdb(path)


@fault
def test_aclimdb_not_an_archive(tmp_path: Path) -> None:
    path = tmp_path / "aclImdb_v1.tar.gz"
    path.write_text("<html>404 Not Found</html>")
    with _raises("aclImdb_v1.tar.gz", "neither a tar nor a zip archive"):
        read_aclimdb(path)


@fault
def test_aclimdb_without_test_reviews(tmp_path: Path) -> None:
    members = {n: t for n, t in aclimdb_reviews(2, 2).items() if "/test/" not in n}
    path = write_tar(tmp_path / "train_only.tar.gz", members)
    with _raises("train_only.tar.gz", "no reviews under aclImdb/test/{pos,neg}/*.txt"):
        read_aclimdb(path)


@fault
def test_aclimdb_review_not_utf8(tmp_path: Path) -> None:
    members: dict[str, str | bytes] = dict(aclimdb_reviews(2, 2))
    members["aclImdb/test/neg/1_2.txt"] = "caf\xe9".encode("latin-1")
    path = write_tar(tmp_path / "a.tar.gz", members)
    with _raises("a.tar.gz", "aclImdb/test/neg/1_2.txt", "not valid UTF-8"):
        read_aclimdb(path)


# --- sentiment tables ---------------------------------------------------------------------

ROWS = [["id", "text", "label"], [1, "Great fun, really", "pos"], [2, "Dull", "neg"]]
# The tiny tables hold one row per class: fewer than an undeclared label needs (labels.py).
DECLARED = {"labels": ["neg", "pos"]}


def test_sentiment_csv(tmp_path: Path) -> None:
    records = read_sentiment_table(table(tmp_path / "reviews.csv", ROWS), DECLARED)
    assert records == [
        {"text": "Great fun, really", "label": "pos"},
        {"text": "Dull", "label": "neg"},
    ]


def test_sentiment_tsv_delimiter_is_inferred(tmp_path: Path) -> None:
    path = table(tmp_path / "reviews.tsv", ROWS, delimiter="\t")
    assert read_sentiment_table(path, DECLARED)[0] == {"text": "Great fun, really", "label": "pos"}
    gz = tmp_path / "reviews.tsv.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    assert read_sentiment_table(gz, DECLARED) == read_sentiment_table(path, DECLARED)


def test_sentiment_explicit_delimiter_columns_and_label_map(tmp_path: Path) -> None:
    rows = [["sentence", "score"], ["Loved it", 1], ["Hated it", 0], ["Meh", " 0 "]]
    path = table(tmp_path / "sst.txt", rows, delimiter="|")
    options = {
        "delimiter": "|",
        "text_column": "sentence",
        "label_column": "score",
        "label_map": {0: "negative", 1: "positive"},  # YAML gives int keys
    }
    assert read_sentiment_table(path, options) == [
        {"text": "Loved it", "label": "positive"},
        {"text": "Hated it", "label": "negative"},
        {"text": "Meh", "label": "negative"},
    ]


def test_sentiment_without_header_uses_indexes(tmp_path: Path) -> None:
    path = table(tmp_path / "raw.csv", [["pos", "Fine film"], ["neg", "Bad film"]])
    options = {"header": False, "text_column": 1, "label_column": 0, **DECLARED}
    assert read_sentiment_table(path, options) == [
        {"text": "Fine film", "label": "pos"},
        {"text": "Bad film", "label": "neg"},
    ]


def test_sentiment_encoding_option(tmp_path: Path) -> None:
    path = table(
        tmp_path / "fr.csv", [["text", "label"], ["café crème", "pos"]], encoding="latin-1"
    )
    assert (
        read_sentiment_table(path, {"encoding": "latin-1", **DECLARED})[0]["text"] == "café crème"
    )


def test_sentiment_zip_member(tmp_path: Path) -> None:
    path = tmp_path / "reviews.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("README.txt", "not this one")
        archive.writestr("data/reviews.csv", table(tmp_path / "r.csv", ROWS).read_bytes())
    assert len(read_sentiment_table(path, {"member": "data/reviews.csv", **DECLARED})) == 2
    with _raises("reviews.zip", "holds 2 files", "member"):
        read_sentiment_table(path, {})
    with _raises("reviews.zip", "no member 'other.csv'"):
        read_sentiment_table(path, {"member": "other.csv"})


@fault
def test_sentiment_missing_column(tmp_path: Path) -> None:
    path = table(tmp_path / "reviews.csv", [["review", "label"], ["Fine", "pos"]])
    with _raises("reviews.csv", "column 'text'", "`text_column`", "['review', 'label']"):
        read_sentiment_table(path, {})
    with _raises("reviews.csv", "column 'stars'", "`label_column`"):
        read_sentiment_table(path, {"text_column": "review", "label_column": "stars"})


@fault
def test_sentiment_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with _raises("empty.csv", "is empty"):
        read_sentiment_table(path, {})


@fault
def test_sentiment_header_only(tmp_path: Path) -> None:
    path = table(tmp_path / "header.csv", [["text", "label"]])
    with _raises("header.csv", "no data rows"):
        read_sentiment_table(path, {})


@fault
def test_sentiment_wrong_encoding_names_the_line(tmp_path: Path) -> None:
    rows = [["text", "label"], ["fine", "pos"], ["ok", "neg"], ["café", "pos"], ["x", "neg"]]
    path = table(tmp_path / "latin.csv", rows, encoding="latin-1")
    with _raises("latin.csv", "line 4 ", "not valid utf-8", "encoding"):
        read_sentiment_table(path, {})


@fault
def test_sentiment_wrong_encoding_after_a_long_line(tmp_path: Path) -> None:
    rows = [["text", "label"], ["long " * 5000, "pos"], ["naïve", "neg"]]
    path = table(tmp_path / "long.csv", rows, encoding="latin-1")
    with _raises("long.csv", "line 3 ", "at byte 2 of the line"):
        read_sentiment_table(path, {})


@fault
def test_sentiment_unknown_encoding(tmp_path: Path) -> None:
    path = table(tmp_path / "reviews.csv", ROWS)
    with _raises("reviews.csv", "unknown encoding 'latin-9x'"):
        read_sentiment_table(path, {"encoding": "latin-9x"})


@fault
def test_sentiment_label_not_in_label_map(tmp_path: Path) -> None:
    path = table(tmp_path / "r.csv", [["text", "label"], ["a", "1"], ["b", "0"], ["c", "2"]])
    with _raises("r.csv", "row 4", "label '2'", "not in label_map", "['0', '1']"):
        read_sentiment_table(path, {"label_map": {"0": "neg", "1": "pos"}})


@fault
def test_sentiment_short_row(tmp_path: Path) -> None:
    path = table(tmp_path / "r.csv", [["text", "label"], ["a", "pos"], ["no label"]])
    with _raises("r.csv", "row 3 has 1 fields"):
        read_sentiment_table(path, {})


@fault
def test_sentiment_headerless_needs_indexes(tmp_path: Path) -> None:
    path = table(tmp_path / "r.csv", [["a", "pos"]])
    with _raises("r.csv", "header is false", "`text_column` must be a 0-based index"):
        read_sentiment_table(path, {"header": False})


# --- GMB ner_dataset.csv ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ner_dataset.csv", "ner_dataset.csv.gz", "ner_dataset.zip"])
def test_gmb_formats_read_alike(tmp_path: Path, name: str) -> None:
    sentences = gmb_sentences(6)
    records = read_gmb_csv(gmb(tmp_path / name, sentences), {})
    assert records == sentences
    # 0xE9 is é, and 0x85 stays a character inside its word (no extra line, no split)
    assert records[3]["tokens"][6:8] == list(GMB_ODD_WORDS)
    assert read_source("gmb_csv", tmp_path / name, {}) == records


def test_gmb_is_latin1_bytes(tmp_path: Path) -> None:
    raw = gmb(tmp_path / "ner.csv", gmb_sentences(4)).read_bytes()
    assert b"caf\xe9" in raw and b"a\x85b" in raw


def test_gmb_iob1_tags_become_iob2(tmp_path: Path) -> None:
    rows = b"Sentence #,Word,POS,Tag\nSentence: 1,New,NNP,I-geo\n,York,NNP,I-geo\n,is,VBZ,O\n"
    rows += b",big,JJ,I-geo\nSentence: 2,Ann,NNP,B-per\n,Lee,NNP,I-per\n"
    records = read_gmb_csv(gmb(tmp_path / "ner.csv", raw=rows), {})
    assert records == [
        {"tokens": ["New", "York", "is", "big"], "tags": ["B-geo", "I-geo", "O", "B-geo"]},
        {"tokens": ["Ann", "Lee"], "tags": ["B-per", "I-per"]},
    ]


def test_gmb_quoted_comma_word(tmp_path: Path) -> None:
    rows = b'Sentence #,Word,POS,Tag\nSentence: 1,"1,000",CD,O\n,",",",",O\n'
    records = read_gmb_csv(gmb(tmp_path / "ner.csv", raw=rows), {})
    assert records == [{"tokens": ["1,000", ","], "tags": ["O", "O"]}]


@fault
def test_gmb_missing_column(tmp_path: Path) -> None:
    raw = b"Sentence #,Word,POS\nSentence: 1,Hi,UH\n"
    with _raises("ner.csv.gz", "missing column(s) ['Tag']", "['Sentence #', 'Word', 'POS']"):
        read_gmb_csv(gmb(tmp_path / "ner.csv.gz", raw=raw), {})


@fault
@pytest.mark.parametrize("name", ["ner.csv", "ner.csv.gz", "ner.zip"])
def test_gmb_empty(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    if name == "ner.csv":
        path.write_bytes(b"")
        expected = "is empty"
    else:
        gmb(path, raw=b"")  # a valid archive holding an empty file
        expected = "is empty; expected columns"
    with _raises(name, expected):
        read_gmb_csv(path, {})


@fault
def test_gmb_bad_tag_names_the_line(tmp_path: Path) -> None:
    raw = b"Sentence #,Word,POS,Tag\nSentence: 1,Hi,UH,O\n,there,RB,S-geo\n"
    with _raises("ner.csv", "line 3", "'S-geo'", "not IOB"):
        read_gmb_csv(gmb(tmp_path / "ner.csv", raw=raw), {})


@fault
def test_gmb_first_row_must_start_a_sentence(tmp_path: Path) -> None:
    raw = b"Sentence #,Word,POS,Tag\n,Hi,UH,O\n"
    with _raises("ner.csv", "line 2", "first row must start a sentence"):
        read_gmb_csv(gmb(tmp_path / "ner.csv", raw=raw), {})


@fault
def test_gmb_short_row_and_empty_word(tmp_path: Path) -> None:
    raw = b"Sentence #,Word,POS,Tag\nSentence: 1,Hi,UH,O\n,there\n"
    with _raises("ner.csv", "line 3 has 2 fields, expected 4"):
        read_gmb_csv(gmb(tmp_path / "ner.csv", raw=raw), {})
    raw = b"Sentence #,Word,POS,Tag\nSentence: 1,Hi,UH,O\n,,RB,O\n"
    with _raises("ner.csv", "line 3 has an empty word"):
        read_gmb_csv(gmb(tmp_path / "ner.csv", raw=raw), {})


@fault
def test_gmb_header_only(tmp_path: Path) -> None:
    with _raises("ner.csv", "header but no sentences"):
        read_gmb_csv(gmb(tmp_path / "ner.csv", raw=b"Sentence #,Word,POS,Tag\n"), {})


@fault
def test_gmb_wrong_encoding_option_names_the_line(tmp_path: Path) -> None:
    path = gmb(tmp_path / "ner.csv.gz", gmb_sentences(3))
    # sentences of 5, 6 and 7 tokens: the first odd word (café) is the 7th token of the
    # third sentence, on line 1 (header) + 5 + 6 + 7 = 19
    with _raises("ner.csv.gz", "line 19 ", "not valid utf-8"):
        read_gmb_csv(path, {"encoding": "utf-8"})


@fault
def test_gmb_truncated_gzip(tmp_path: Path) -> None:
    path = gmb(tmp_path / "ner.csv.gz", gmb_sentences(400))
    path.write_bytes(path.read_bytes()[:-40])
    with _raises("ner.csv.gz", "truncated or corrupt"):
        read_gmb_csv(path, {})


@fault
def test_gmb_truncated_zip(tmp_path: Path) -> None:
    path = gmb(tmp_path / "ner_dataset.csv.zip", gmb_sentences(400))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with _raises("ner_dataset.csv.zip", "not a readable zip archive"):
        read_gmb_csv(path, {})


@fault
def test_gmb_zip_with_a_corrupt_member(tmp_path: Path) -> None:
    path = gmb(tmp_path / "ner.zip", gmb_sentences(400))
    data = bytearray(path.read_bytes())
    data[200:260] = bytes(60)  # inside the deflated member; the directory is intact
    path.write_bytes(bytes(data))
    with _raises("ner.zip", "truncated or corrupt"):
        read_gmb_csv(path, {})


# --- CoNLL --------------------------------------------------------------------------------------


@pytest.mark.fault
def test_conll_docstart_iob1_and_no_trailing_blank_line(tmp_path: Path) -> None:
    assert not CONLL_IOB1.endswith("\n")
    records = read_conll(conll(tmp_path / "train.txt"), {})
    assert records == [
        {"tokens": ["EU", "rejects", "German", "call", "."], "tags": _iob2("ORG O MISC O O")},
        {"tokens": ["Peter", "Blackburn"], "tags": ["B-PER", "I-PER"]},
        {"tokens": ["BRUSSELS", "Paris", "1996-08-22"], "tags": ["B-LOC", "B-LOC", "O"]},
    ]


@pytest.mark.fault
def test_conll_blank_line_runs_never_make_an_empty_sentence(tmp_path: Path) -> None:
    # Several blank lines (a "sentence without tokens"), also around -DOCSTART-.
    path = tmp_path / "gaps.conll"
    path.write_text("\n\n-DOCSTART- O\n\n\n\nAnn B-PER\n\n\n\nin O\nRome B-LOC\n\n\n")
    records = read_conll(path, {})
    assert records == [
        {"tokens": ["Ann"], "tags": ["B-PER"]},
        {"tokens": ["in", "Rome"], "tags": ["O", "B-LOC"]},
    ]


def _iob2(types: str) -> list[str]:
    return ["O" if t == "O" else f"B-{t}" for t in types.split()]


def test_conll_two_columns_crlf_and_gzip(tmp_path: Path) -> None:
    text = "Ann B-PER\r\nLee I-PER\r\n\r\n\r\nin O\r\nRome B-LOC\r\n"
    path = conll(tmp_path / "a.conll")
    path.write_bytes(gzip.compress(text.encode()))
    assert read_conll(path, {}) == [
        {"tokens": ["Ann", "Lee"], "tags": ["B-PER", "I-PER"]},
        {"tokens": ["in", "Rome"], "tags": ["O", "B-LOC"]},
    ]


def test_conll_iob2_is_kept(tmp_path: Path) -> None:
    path = conll(tmp_path / "a.txt", "New B-LOC\nYork I-LOC\nCity I-LOC\nand O\nParis B-LOC\n")
    assert read_conll(path, {})[0]["tags"] == ["B-LOC", "I-LOC", "I-LOC", "O", "B-LOC"]


def test_conll_encoding_option(tmp_path: Path) -> None:
    path = conll(tmp_path / "a.txt", "Zürich B-LOC\n", encoding="latin-1")
    assert read_conll(path, {"encoding": "latin-1"}) == [{"tokens": ["Zürich"], "tags": ["B-LOC"]}]


@fault
def test_conll_one_column_names_the_line(tmp_path: Path) -> None:
    path = conll(tmp_path / "a.txt", "-DOCSTART- O\n\nAnn B-PER\nLee\n")
    with _raises("a.txt", "line 4 has one column", "'Lee'"):
        read_conll(path, {})


@fault
def test_conll_iobes_tag_names_the_line(tmp_path: Path) -> None:
    path = conll(tmp_path / "a.txt", "Ann B-PER\nLee E-PER\n")
    with _raises("a.txt", "line 2 has tag 'E-PER'", "IOB2"):
        read_conll(path, {})


@fault
def test_conll_wrong_encoding_names_the_line(tmp_path: Path) -> None:
    path = conll(tmp_path / "a.txt", "Ann B-PER\n\nin O\nZürich B-LOC\n", encoding="latin-1")
    with _raises("a.txt", "line 4 ", "not valid utf-8"):
        read_conll(path, {})


@fault
@pytest.mark.parametrize("text", ["", "-DOCSTART- -X- -X- O\n\n\n"])
def test_conll_without_sentences(tmp_path: Path, text: str) -> None:
    path = tmp_path / "a.txt"
    path.write_text(text)
    with _raises("a.txt", "is empty" if not text else "holds no sentences"):
        read_conll(path, {})


# --- tags ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ("I-PER I-PER O I-LOC", "B-PER I-PER O B-LOC"),
        ("I-PER I-LOC I-LOC", "B-PER B-LOC I-LOC"),
        ("I-PER B-PER I-PER", "B-PER B-PER I-PER"),
        ("B-PER I-PER O B-LOC", "B-PER I-PER O B-LOC"),
        ("O O", "O O"),
    ],
)
def test_to_iob2(tags: str, expected: str) -> None:
    assert to_iob2(tags.split()) == expected.split()


def test_read_source_dispatch(tmp_path: Path) -> None:
    tarball = aclimdb(tmp_path / "a.tar.gz", 2, 2)
    assert set(read_source("aclimdb", tarball, {})) == {"train", "test"}
    assert len(read_source("conll", conll(tmp_path / "c.txt"), {})) == 3
    path = table(tmp_path / "t.csv", ROWS)
    assert read_source("sentiment_table", path, DECLARED) == read_sentiment_table(path, DECLARED)
    assert gmb_csv_bytes(gmb_sentences(1)).startswith(b"Sentence #,Word,POS,Tag\n")
