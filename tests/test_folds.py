"""k-fold cross-validation (``split.folds``) of a corpus without a test split: the fold
partition, each fold's vocabulary (built on its training part only), the fold in the
spec, runs.csv and the comparison table; and that datasets without folds are unchanged."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from conftest import validated
from rnnbench.analysis.collect import collect_runs
from rnnbench.analysis.compare import FOLDS_NOTE, comparison_table
from rnnbench.data.splitting import fold_ids, fold_split
from rnnbench.data.stages import build_vocab_file, split_dataset, tokenize_split
from rnnbench.experiment.grid import grid_cells
from rnnbench.experiment.paths import run_dir
from rnnbench.experiment.sources import stage_options
from rnnbench.experiment.spec import resolve_spec
from rnnbench.io import read_jsonl
from test_analysis_helpers import make_metrics

pytestmark = pytest.mark.fault

CLASSES = {"pos": "data/rt-polarity.pos", "neg": "data/rt-polarity.neg"}


def _corpus(n_pos: int = 23, n_neg: int = 17) -> list[dict]:
    """Every example holds a word of its own (``w<i>``), to trace it into a vocabulary."""
    labels = ["pos"] * n_pos + ["neg"] * n_neg
    return [{"text": f"film w{i} here", "label": label} for i, label in enumerate(labels)]


def _ds(folds: int = 5, **extra) -> dict:
    return validated(
        {
            "task": "sentiment",
            "format": "lines",
            "classes": CLASSES,
            "split": {"folds": folds, "seed": 3},
            "text": {"tokenizer": "basic_english"},
            "grid": {"lengths": [8], "archs": ["rnn"], "seeds": [0, 1]},
            **extra,
        },
        name="rt",
    )


@pytest.mark.parametrize("stratify", [True, False])
def test_the_folds_partition_the_examples(stratify: bool) -> None:
    records = _corpus()
    ids = fold_ids(records, 5, seed=3, stratify=stratify)
    assert sorted(Counter(ids.tolist()).values()) == [8, 8, 8, 8, 8]
    tests = [fold_split(records, 5, fold, 3, stratify)["test"] for fold in range(5)]
    seen = Counter(r["text"] for test in tests for r in test)
    assert set(seen) == {r["text"] for r in records} and set(seen.values()) == {1}
    for fold, test in enumerate(tests):
        train = fold_split(records, 5, fold, 3, stratify)["train"]
        assert len(train) + len(test) == len(records)
        assert not {r["text"] for r in train} & {r["text"] for r in test}
        if stratify:  # each fold holds each label's share (23 pos, 17 neg over 5 folds)
            counts = Counter(r["label"] for r in test)
            assert counts["pos"] in (4, 5) and counts["neg"] in (3, 4)
    assert (fold_ids(records, 5, 3, stratify) == ids).all()  # seeded
    assert not (fold_ids(records, 5, 4, stratify) == ids).all()


def test_each_fold_is_written_and_its_vocabulary_never_sees_its_test_texts(
    tmp_path: Path,
) -> None:
    records = _corpus()
    (tmp_path / "pos").write_text(
        "".join(r["text"] + "\n" for r in records if r["label"] == "pos"), encoding="utf-8"
    )
    (tmp_path / "neg").write_text(
        "".join(r["text"] + "\n" for r in records if r["label"] == "neg"), encoding="utf-8"
    )
    ds = json.loads(stage_options(_ds(), "task", "format", "options", "split", "text", "vocab"))
    sources = {"all.pos": str(tmp_path / "pos"), "all.neg": str(tmp_path / "neg")}
    test_texts: list[str] = []
    for fold in range(5):
        root = tmp_path / f"fold{fold}"
        split_dataset("rt", ds, sources, root / "split", fold=fold)
        tokens = {}
        for split in ("train", "validation", "test"):
            tokens[split] = str(root / "tokens" / f"{split}.jsonl")
            tokenize_split(ds, root / "split" / f"{split}.jsonl", tokens[split])
        build_vocab_file(ds, tokens, root / "vocab.json")
        splits = {s: read_jsonl(root / "split" / f"{s}.jsonl") for s in tokens}
        assert sum(len(v) for v in splits.values()) == len(records)
        assert len(splits["validation"]) == 3  # 10% of the 32 training examples
        vocab = set(json.loads((root / "vocab.json").read_text())["tokens"])
        test_words = {r["text"].split()[1] for r in splits["test"]}
        train_words = {r["text"].split()[1] for r in splits["train"]}
        assert not vocab & test_words, f"fold {fold}'s vocabulary holds its test words"
        assert train_words <= vocab
        test_texts += [r["text"] for r in splits["test"]]
    assert sorted(test_texts) == sorted(r["text"] for r in records)


def test_the_fold_is_a_grid_dimension_of_spec_and_run_dir() -> None:
    ds = _ds(folds=3)
    cells = grid_cells("rt", ds)
    assert [(c["fold"], c["seed"]) for c in cells] == [(f, s) for f in range(3) for s in (0, 1)]
    assert run_dir(cells[3]) == "results/runs/rt/rnn/adam/len8/fold1/seed1"
    spec = resolve_spec({**cells[3], "hparams": {}})
    assert spec.identity() == {
        "dataset": "rt",
        "arch": "rnn",
        "optimizer": "adam",
        "length": 8,
        "seed": 1,
        "fold": 1,
    }


def test_without_folds_cells_specs_and_params_are_as_before() -> None:
    ds = validated(
        {
            "task": "sentiment",
            "format": "sentiment_table",
            "url": "a.csv",
            "grid": {"lengths": [8], "archs": ["rnn"]},
        }
    )
    (cell,) = grid_cells("x", ds)
    assert cell == {"dataset": "x", "arch": "rnn", "optimizer": "adam", "length": 8, "seed": 0}
    assert run_dir(cell) == "results/runs/x/rnn/adam/len8/seed0"
    assert "fold" not in resolve_spec({**cell, "hparams": {}}).identity()
    assert "folds" not in ds["split"]  # no default: the split stage's params are unchanged
    # an optional key of a stage appears only where the dataset sets it
    assert stage_options(ds, "format", "url", optional=("classes",)) == stage_options(
        ds, "format", "url"
    )


def _fold_runs(root: Path, folds: int = 5, seeds: int = 2) -> list[Path]:
    paths = []
    for fold in range(folds):
        for seed in range(seeds):
            metrics = make_metrics(dataset="rt", arch="rnn", seed=seed, accuracy=0.6 + fold / 100)
            metrics["spec"]["fold"] = fold
            out = root / f"fold{fold}" / f"seed{seed}"
            out.mkdir(parents=True)
            (out / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
            paths.append(out / "metrics.json")
    return paths


def test_runs_csv_carries_the_fold_and_the_table_pools_folds_like_seeds(tmp_path: Path) -> None:
    runs = collect_runs(reversed(_fold_runs(tmp_path)))
    assert list(runs.columns[:7]) == [
        "dataset",
        "task",
        "arch",
        "optimizer",
        "length",
        "fold",
        "seed",
    ]
    assert runs["fold"].tolist() == [f for f in range(5) for _ in range(2)]
    table = comparison_table(runs, "rt")
    row = table[table["arch"] == "rnn"].iloc[0]
    assert row["n_seeds"] == 10 and row["n_scored"] == 10
    assert row["mean"] == pytest.approx(0.62)
    assert "fold" not in table.columns
    assert any(
        note.startswith(FOLDS_NOTE) and "5 folds x 2 seed(s), n = 10" in note
        for note in table.attrs["notes"]
    )


def test_runs_without_a_fold_have_no_fold_column(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "metrics.json").write_text(json.dumps(make_metrics()), encoding="utf-8")
    runs = collect_runs([out / "metrics.json"])
    assert "fold" not in runs.columns
    assert not [n for n in comparison_table(runs, "imdb").attrs["notes"] if FOLDS_NOTE in n]
