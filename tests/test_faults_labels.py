"""No class without consent (issue 24, family 1): a stray row or a label spelling never
becomes a class of its own. Each case used to pass the data card, train and be compared
as if valid; now the split stage fails naming the file, the label, its count and its
first rows (rnnbench.data.labels), unless the config declares the labels.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import REPO_ROOT, table_corpus_config, validated
from rnnbench.config import ConfigError, validate_config
from rnnbench.data.readers import read_aclimdb, read_jsonl, read_lines, read_sentiment_table
from rnnbench.data.stages import split_dataset
from rnnbench.errors import DataError

pytestmark = pytest.mark.fault

SAMPLE = REPO_ROOT / "data" / "samples" / "imdb-sample.tar.gz"
FULL_IMDB = REPO_ROOT.parent / "shared" / "data" / "aclImdb_repacked.tar.gz"


def _raises(*parts: str):
    pattern = "".join(f"(?=.*{re.escape(p)})" for p in parts)
    return pytest.raises(DataError, match=re.compile(pattern, re.DOTALL))


def _rows(n: int = 200) -> list[tuple[str, str]]:
    return [
        (f"review {i} was {'good' if i % 2 else 'bad'}", ("neg", "pos")[i % 2]) for i in range(n)
    ]


def _tsv(path: Path, rows: list[tuple[str, str]], extra: dict[int, str] | None = None) -> Path:
    """``text<TAB>label`` rows after a header; ``extra`` replaces data row i by a raw line."""
    lines = ["text\tlabel"] + [f"{t}\t{lab}" for t, lab in rows]
    for i, raw in (extra or {}).items():
        lines[i + 1] = raw
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def test_an_empty_label_cell_is_never_a_class(tmp_path: Path) -> None:
    rows = _rows()
    for i in range(10, 20):  # 10 of 200 rows: 5%, a "plausible share" were it a class
        rows[i] = (rows[i][0], "")
    path = _tsv(tmp_path / "r.tsv", rows)
    with _raises("r.tsv", "10 row(s) have an empty label", "line 12, line 13"):
        read_sentiment_table(path, {})


def test_a_header_repeated_mid_file_fails_naming_the_line(tmp_path: Path) -> None:
    path = _tsv(tmp_path / "r.tsv", _rows(), extra={100: "text\tlabel"})
    with _raises("r.tsv", "line 102 repeats the header", "concatenated"):
        read_sentiment_table(path, {})


def test_an_unquoted_tab_that_shifts_the_columns_fails_naming_the_line(tmp_path: Path) -> None:
    shifted = {i: f"great\tfilm {i}\tpos" for i in range(30, 38)}
    path = _tsv(tmp_path / "r.tsv", _rows(), extra=shifted)
    with _raises("r.tsv", "line 32 has 3 fields, more than the header's 2", "extra_fields"):
        read_sentiment_table(path, {})
    # Allowed by the option, the shifted rows' label column reads a piece of text: a class
    # no one declared, with a share far below a class's, so it is refused just the same.
    with _raises("r.tsv", "label 'film 30' occurs in only 1 of 200 rows", "line 32"):
        read_sentiment_table(path, {"extra_fields": "ignore"})


def test_extra_fields_ignore_reads_the_chosen_columns(tmp_path: Path) -> None:
    rows = _rows(20)
    path = _tsv(tmp_path / "r.tsv", rows, extra={3: f"{rows[3][0]}\t{rows[3][1]}\t"})
    with _raises("line 5 has 3 fields"):
        read_sentiment_table(path, {})
    records = read_sentiment_table(path, {"extra_fields": "ignore"})
    assert [r["label"] for r in records] == [lab for _, lab in rows]


def test_undeclared_labels_differing_only_in_case_fail_naming_both(tmp_path: Path) -> None:
    rows = [
        (t, "Pos" if lab == "pos" and i % 8 == 1 else lab) for i, (t, lab) in enumerate(_rows())
    ]
    path = _tsv(tmp_path / "r.tsv", rows)
    with _raises("r.tsv", "'pos' (75 rows)", "'Pos' (25 rows: line 3", "case_insensitive"):
        read_sentiment_table(path, {})
    merged = read_sentiment_table(path, {"labels": {"case_insensitive": True}})
    assert {r["label"] for r in merged} == {"neg", "pos"}


def test_a_case_variant_of_a_declared_label_fails_unless_merged(tmp_path: Path) -> None:
    rows = [(t, "Pos " if i == 7 else lab) for i, (t, lab) in enumerate(_rows())]
    path = _tsv(tmp_path / "r.tsv", rows)
    with _raises("r.tsv", "label 'Pos' (1 rows: line 9)", "declared label 'pos'"):
        read_sentiment_table(path, {"labels": ["neg", "pos"]})
    options = {"labels": {"names": ["neg", "pos"], "case_insensitive": True}}
    assert read_sentiment_table(path, options)[7]["label"] == "pos"
    # A case variant of a label_map key: named, and merged on request.
    label_map = {"neg": "negative", "pos": "positive"}
    with _raises("r.tsv: row 9", "label 'Pos'", "differs from the key 'pos'"):
        read_sentiment_table(path, {"label_map": label_map})
    merged = read_sentiment_table(
        path, {"label_map": label_map, "labels": {"case_insensitive": True}}
    )
    assert {r["label"] for r in merged} == {"negative", "positive"}


def test_a_rare_undeclared_label_fails_and_a_declared_one_is_read(tmp_path: Path) -> None:
    rows = [(t, "neutral" if i in (50, 150) else lab) for i, (t, lab) in enumerate(_rows())]
    path = _tsv(tmp_path / "r.tsv", rows)
    with _raises(
        "r.tsv", "label 'neutral' occurs in only 2 of 200 rows", "line 52, line 152",
        "fewer than 3", "shifted column", "labels:",
    ):  # fmt: skip
        read_sentiment_table(path, {})
    declared = read_sentiment_table(path, {"labels": ["neg", "neutral", "pos"]})
    assert sum(r["label"] == "neutral" for r in declared) == 2
    with _raises("r.tsv", "label 'neutral' (2 rows: line 52, line 152)", "not a declared label"):
        read_sentiment_table(path, {"labels": ["neg", "pos"]})


def test_the_same_rules_hold_for_jsonl(tmp_path: Path) -> None:
    def jsonl(labels: list[str]) -> Path:
        path = tmp_path / "r.jsonl"
        path.write_text(
            "".join(
                json.dumps({"text": f"t{i}", "label": lab}) + "\n" for i, lab in enumerate(labels)
            ),
            encoding="utf-8",
        )
        return path

    base = ["neg", "pos"] * 100
    with _raises("r.jsonl", "1 row(s) have an empty label", "line 5"):
        read_jsonl(jsonl([*base[:4], "", *base[5:]]), {})
    with _raises("r.jsonl", "'label' occurs in only 1 of 200 rows", "line 101", "repeated header"):
        read_jsonl(jsonl([*base[:100], "label", *base[101:]]), {})  # a header as a row
    with _raises("r.jsonl", "'Neg'", "'neg'", "case"):
        read_jsonl(jsonl([lab.title() if i % 4 == 0 else lab for i, lab in enumerate(base)]), {})
    assert len(read_jsonl(jsonl(base), {"labels": ["neg", "pos"]})) == 200


def test_the_same_rules_hold_for_lines(tmp_path: Path) -> None:
    path = tmp_path / "rt-polarity.pos"
    path.write_text("a fine film\nanother\n", encoding="utf-8")
    assert len(read_lines(path, {}, "pos")) == 2  # the config's classes declare its label
    with _raises("rt-polarity.pos", "label 'Pos'", "declared label 'pos'"):
        read_lines(path, {"labels": ["neg", "pos"]}, "Pos")
    with _raises("rt-polarity.pos", "label 'positive'", "not a declared label"):
        read_lines(path, {"labels": ["neg", "pos"]}, "positive")
    merged = read_lines(
        path, {"labels": {"names": ["neg", "pos"], "case_insensitive": True}}, "Pos"
    )
    assert {r["label"] for r in merged} == {"pos"}


def test_the_split_stage_stops_on_an_invented_class(tmp_path: Path) -> None:
    rows = _rows()
    rows[60] = (rows[60][0], "")
    source = str(_tsv(tmp_path / "all.tsv", rows))
    ds = validated(
        {"task": "sentiment", "format": "sentiment_table", "url": source, "grid": {"lengths": [8]}}
    )
    with _raises("all.tsv", "empty label", "line 62"):
        split_dataset("t", ds, {"all": source}, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("labels", [["pos"], {"names": ["neg", "pos"], "case": True}, "pos"])
def test_a_bad_labels_option_names_the_key(labels: object) -> None:
    cfg = table_corpus_config("x.tsv", options={"labels": labels})
    with pytest.raises(ConfigError, match=r"datasets\.t\.options\.labels"):
        validate_config(cfg, REPO_ROOT / "workflow" / "schemas" / "config.schema.yaml")


def test_declaring_labels_keeps_the_shipped_sample_readable() -> None:
    undeclared = read_aclimdb(SAMPLE)
    declared = read_aclimdb(SAMPLE, {"labels": ["neg", "pos"]})
    assert declared == undeclared and {r["label"] for r in declared["train"]} == {"neg", "pos"}
    with _raises("imdb-sample.tar.gz", "label 'neg'", "not a declared label"):
        read_aclimdb(SAMPLE, {"labels": ["negative", "positive"]})


@pytest.mark.slow
@pytest.mark.skipif(not FULL_IMDB.exists(), reason="the full corpus lives in ../shared/data")
def test_declaring_labels_keeps_the_full_corpus_readable() -> None:
    declared = read_aclimdb(FULL_IMDB, {"labels": ["neg", "pos"]})
    assert [len(declared[s]) for s in ("train", "test")] == [25_000, 25_000]
