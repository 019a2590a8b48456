"""Leakage stops the verdict; NER tag sets (issue 24, families 2 and 3).

A test split that shares more than ``checks.max_test_leakage`` (default 2%) of its examples
with train marks the dataset in its data card; the sanity gate flags every run of it
``leakage`` (never ranked), and the console and the summary say so with the counts.
Empty texts never count as duplicates. An entity type that validation or test has and
train never has is reported (data card, console, summary), or with
``checks.unseen_tags: error`` fails the data card.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import run_snakemake, validated
from rnnbench.analysis.collect import collect_runs
from rnnbench.analysis.datacard_page import datacard_html
from rnnbench.analysis.sanity import LEAKAGE, flag_run
from rnnbench.analysis.summary import build_summary, render_markdown
from rnnbench.data.arrays import SPLITS
from rnnbench.data.datacard import cross_split_duplicates
from rnnbench.data.stages import build_vocab_file, tokenize_split, write_text_datacard
from rnnbench.errors import DataError
from rnnbench.io import write_jsonl_atomic

pytestmark = pytest.mark.fault

SENTIMENT = {"task": "sentiment", "format": "aclimdb", "url": "u", "grid": {"lengths": [5]}}
NER = {"task": "ner", "format": "conll", "url": "u", "grid": {"lengths": [5]}}


def _card(tmp_path: Path, ds: dict, records: dict[str, list[dict]]) -> dict:
    """The real data-card stage on the given split records; the card written."""
    split_paths, token_paths = {}, {}
    for split in SPLITS:
        split_paths[split] = str(tmp_path / "split" / f"{split}.jsonl")
        token_paths[split] = str(tmp_path / "tokens" / f"{split}.jsonl")
        write_jsonl_atomic(split_paths[split], records[split])
        tokenize_split(ds, split_paths[split], token_paths[split])
    build_vocab_file(ds, token_paths, tmp_path / "vocab.json")
    out = tmp_path / "datacard.json"
    write_text_datacard("d", ds, split_paths, token_paths, tmp_path / "vocab.json", out)
    return json.loads(out.read_text())


def _reviews(texts: list[str]) -> list[dict]:
    return [{"text": t, "label": ("neg", "pos")[i % 2]} for i, t in enumerate(texts)]


def test_a_test_split_copied_from_train_marks_the_dataset_and_warns_with_counts(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    train = [f"review {i} of a film" for i in range(100)]
    records = {
        "train": _reviews(train),
        "validation": _reviews(["a", "b"]),
        "test": _reviews(train),
    }
    with caplog.at_level(logging.WARNING, logger="rnnbench.data"):
        card = _card(tmp_path, validated(SENTIMENT), records)
    assert card["leakage"] == {
        "test_duplicates": 100,
        "test_examples": 100,
        "share": 1.0,
        "threshold": 0.02,
        "flagged": True,
    }
    assert any(
        "LEAKAGE: 100 of 100 test examples (100.0%)" in r.getMessage() and "2.0%" in r.getMessage()
        for r in caplog.records
    )
    assert "LEAKAGE: 100 of 100 test examples" in datacard_html(card)


def test_leakage_below_the_threshold_is_counted_but_does_not_mark(tmp_path: Path) -> None:
    train = [f"review {i}" for i in range(200)]
    test = [train[0]] + [f"test review {i}" for i in range(199)]  # 1 of 200: 0.5%
    records = {"train": _reviews(train), "validation": _reviews(["a", "b"]), "test": _reviews(test)}
    card = _card(tmp_path, validated(SENTIMENT), records)
    assert card["leakage"]["test_duplicates"] == 1 and not card["leakage"]["flagged"]
    strict = validated({**SENTIMENT, "checks": {"max_test_leakage": 0.001}})
    assert _card(tmp_path / "strict", strict, records)["leakage"]["flagged"]


def test_empty_and_whitespace_texts_are_never_duplicates() -> None:
    splits = {
        "train": _reviews(["", " ", "good film", "\t"]),
        "validation": _reviews(["", "x"]),
        "test": _reviews(["", "  ", "\n", "other film"]),
    }
    assert cross_split_duplicates(splits) == {
        "train_validation": 0,
        "train_test": 0,
        "validation_test": 0,
    }
    ner = {
        "train": [{"tokens": [], "tags": []}, {"tokens": ["a"], "tags": ["O"]}],
        "test": [{"tokens": [], "tags": []}, {"tokens": [" "], "tags": ["O"]}],
    }
    assert cross_split_duplicates(ner) == {"train_test": 0}


def test_empty_texts_raise_no_false_leakage_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    records = {
        "train": _reviews(["good film", "bad film", "", ""]),
        "validation": _reviews(["fine film", "poor film"]),
        "test": _reviews(["great film", "dire film", "", " "]),
    }
    with caplog.at_level(logging.WARNING, logger="rnnbench.data"):
        card = _card(tmp_path, validated(SENTIMENT), records)
    assert card["duplicates_across_splits"]["train_test"] == 0
    assert card["leakage"]["test_examples"] == 2 and not card["leakage"]["flagged"]
    assert not [r for r in caplog.records if "exactly the text" in r.getMessage()]


def _metrics(arch: str, seed: int, score: float) -> dict:
    return {
        "spec": {"dataset": "d", "arch": arch, "optimizer": "adam", "length": 8, "seed": seed},
        "task": "sentiment",
        "status": "ok",
        "headline_metric": "accuracy",
        "test": {"accuracy": score},
        "validation": {"accuracy": score},
        "majority_baseline": {"label": "neg", "validation": 0.5, "test": 0.5},
        "train_label_counts": {"neg": 50, "pos": 50},
        "initial_loss": 0.69,
        "final_train_loss": 0.05,
    }


def test_the_sanity_gate_flags_every_run_of_a_leaking_dataset() -> None:
    card = {"dataset": "d", "leakage": {"flagged": True}}
    assert flag_run(_metrics("cnn", 0, 0.9)) == []
    assert flag_run(_metrics("cnn", 0, 0.9), card=card) == [LEAKAGE]
    assert flag_run(_metrics("cnn", 0, 0.9), card={"leakage": {"flagged": False}}) == []


def test_a_leaking_dataset_leaves_no_ranked_cell_in_the_summary(tmp_path: Path) -> None:
    paths = []
    for arch, scores in (("cnn", (1.0, 0.99)), ("lstm", (0.8, 0.81))):
        for seed, score in enumerate(scores):
            path = tmp_path / arch / str(seed) / "metrics.json"
            path.parent.mkdir(parents=True)
            path.write_text(json.dumps(_metrics(arch, seed, score)))
            paths.append(path)
    clean = render_markdown(build_summary(collect_runs(paths), ["d"]))
    assert "Best cell: **cnn" in clean  # the control: without the card, cnn is ranked
    leak = {"test_duplicates": 100, "test_examples": 100, "share": 1.0, "threshold": 0.01}
    card = {"dataset": "d", "leakage": {**leak, "flagged": True}}
    runs = collect_runs(paths, {"d": card})
    assert (runs["flags"] == LEAKAGE).all()
    text = render_markdown(build_summary(runs, ["d"], cards={"d": card}))
    assert "Best cell" not in text and "No cell can be ranked best" in text
    assert "**Leakage**: 100 of 100 test examples (100.0%)" in text
    assert "4 of 4 runs flagged (leakage: 4)" in text


def _ner(tokens_tags: list[tuple[list[str], list[str]]]) -> list[dict]:
    return [{"tokens": t, "tags": g} for t, g in tokens_tags]


NER_SPLITS = {
    "train": _ner(
        [(["Ann", "met", "Bob"], ["B-per", "O", "B-per"]), (["in", "Rome"], ["O", "B-geo"])]
    ),
    "validation": _ner([(["Eve", "saw", "Nile"], ["B-per", "O", "B-nat"])]),
    "test": _ner(
        [
            (["The", "Mona", "Lisa"], ["O", "B-art", "I-art"]),
            (["Ann", "in", "Paris"], ["B-per", "O", "B-geo"]),
            (["Guernica", "hangs"], ["B-art", "O"]),
        ]
    ),
}


def test_an_entity_type_train_never_has_is_reported_with_its_counts(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="rnnbench.data"):
        card = _card(tmp_path, validated(NER), NER_SPLITS)
    assert card["unseen_tag_types"] == {"validation": {"nat": 1}, "test": {"art": 2}}
    expected = "validation: nat (1 entity); test: art (2 entities)"
    assert any(expected in r.getMessage() for r in caplog.records)
    assert expected in datacard_html(card)
    runs = pd.DataFrame({"dataset": ["other"]})
    text = render_markdown(build_summary(runs, ["d"], cards={"d": card}))
    assert f"Entity types that train never has (a model can only miss them): {expected}" in text


def test_unseen_tags_error_fails_the_data_card_naming_the_types(tmp_path: Path) -> None:
    ds = validated({**NER, "checks": {"unseen_tags": "error"}})
    with pytest.raises(DataError, match=re.escape("dataset 'd': entity type(s)") + ".*test: art"):
        _card(tmp_path, ds, NER_SPLITS)
    assert not (tmp_path / "datacard.json").exists()


@pytest.mark.slow
def test_a_test_split_equal_to_train_stops_the_verdict_end_to_end(tmp_path: Path) -> None:
    """Snakemake on a corpus whose test file is its train file: the terminal shows the
    leakage, every run is flagged, and the summary ranks no cell."""
    rows = ["text\tlabel"] + [
        f"{'a fine' if i % 2 else 'a dull'} film number {i}\t{('neg', 'pos')[i % 2]}"
        for i in range(60)
    ]
    corpus = tmp_path / "reviews.tsv"
    corpus.write_text("\n".join(rows) + "\n", encoding="utf-8")
    config = {
        "datasets_to_run": ["copy"],
        "datasets": {
            "copy": {
                "task": "sentiment",
                "format": "sentiment_table",
                "splits": {"train": str(corpus), "test": str(corpus)},
                "text": {"tokenizer": "basic_english"},
                "grid": {
                    "archs": ["flatten"],
                    "optimizers": ["adam"],
                    "lengths": [8],
                    "seeds": [0, 1],
                    "hparams": {"epochs": 1, "batch_size": 16, "embedding_dim": 4},
                },
            }
        },
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    result = run_snakemake(tmp_path, "--cores", "2", "results/summary/summary.md")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "LEAKAGE: 60 of 60 test examples (100.0%)" in result.stderr  # on the terminal
    runs = pd.read_csv(tmp_path / "results" / "summary" / "runs.csv")
    assert len(runs) == 2 and runs["flags"].str.contains(LEAKAGE).all()
    summary = (tmp_path / "results" / "summary" / "summary.md").read_text()
    assert "Best cell" not in summary and "No cell can be ranked best" in summary
    assert "**Leakage**: 60 of 60 test examples" in summary
