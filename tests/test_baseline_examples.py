"""Baselines on exactly the examples the models see: fit on the runs' training
subsample, scored on their evaluation subsample, and one majority figure everywhere
(baselines JSON, metrics.json / runs.csv, comparison table, figures)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rnnbench.analysis.baselines import BOW, MAJORITY, compute_baselines, subsample_groups
from rnnbench.analysis.collect import collect_runs
from rnnbench.analysis.compare import comparison_table
from rnnbench.analysis.compare_page import render_html
from rnnbench.analysis.plot_data import majority_reference
from rnnbench.data.arrays import EncodedMeta, save_encoded, subsample_rows
from rnnbench.data.encode import encode_split
from rnnbench.data.vocab import Vocab
from rnnbench.train import run_training

SIZES = {"train": 40, "validation": 20, "test": 20}
TRAIN_N, EVAL_N, LENGTH = 10, 8, 6
WORDS = ["good", "bad", "film", "plot", "actor", "scene", "music", "end", "long", "odd"]


def _write_jsonl(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Toy reviews whose training labels make the subsample's majority differ from the
    whole split's: seed 0's 10 training rows are 7 "neg" + 3 "pos", every other
    training row "pos" (33 of 40 overall)."""
    root = tmp_path_factory.mktemp("corpus")
    rng = np.random.default_rng(5)
    picked = subsample_rows(SIZES["train"], TRAIN_N, 0, train=True).tolist()
    records = {}
    for split, n in SIZES.items():
        labels = rng.integers(0, 2, size=n).tolist()
        if split == "train":
            labels = [1] * n
            for i in picked[:7]:
                labels[i] = 0
        records[split] = [
            {
                # a word unique to each training row, so the BoW feature count tells
                # exactly which rows it was fit on
                "tokens": [*map(str, rng.choice(WORDS, 4)), f"{split}{i}"],
                "label": ["neg", "pos"][label],
            }
            for i, label in enumerate(labels)
        ]
        _write_jsonl(root / "tokens" / f"{split}.jsonl", records[split])
    words = sorted({t for r in records["train"] for t in r["tokens"]})
    vocab = Vocab(tokens=["<pad>", "<unk>", *words], label_names=["neg", "pos"])
    vocab.save(root / "vocab.json")
    meta = EncodedMeta("toy", "sentiment", LENGTH, "post", "post", len(vocab), 2, ["neg", "pos"])
    splits = {s: encode_split(records[s], vocab, LENGTH, "post", "post") for s in SIZES}
    save_encoded(root / f"len{LENGTH}.npz", meta, splits)
    return {"root": root, "tokens": root / "tokens", "vocab": root / "vocab.json"}


def _spec(seed: int) -> dict:
    hparams = {
        "epochs": 1,
        "batch_size": 8,
        "embedding_dim": 4,
        "conv_filters": 4,
        "conv_kernel": 3,
        "device": "cpu",
        "train_subsample": TRAIN_N,
        "eval_subsample": EVAL_N,
    }
    return {
        "dataset": "toy",
        "arch": "cnn",
        "optimizer": "adam",
        "length": LENGTH,
        "seed": seed,
        "hparams": hparams,
    }


@pytest.fixture(scope="module")
def runs(corpus: dict[str, Path]) -> list[Path]:
    paths = []
    for seed in (0, 1):
        out = corpus["root"] / "runs" / f"seed{seed}"
        run_training(corpus["root"] / f"len{LENGTH}.npz", out, _spec(seed))
        paths.append(out / "metrics.json")
    return paths


def test_groups_come_from_the_grid_cells() -> None:
    cells = [
        {"length": 120, "seed": s, "hparams": {"train_subsample": 4000, "eval_subsample": 1000}}
        for s in (1, 0, 1)
    ]
    cells.append({"length": 200, "seed": 0, "hparams": {}})
    # one group per (length, subsample setting), seeds sorted: every task's baselines
    # read the models' cut (sentiment's bag of words too, issue 22)
    assert subsample_groups("sentiment", cells) == [
        {"length": 120, "train_subsample": 4000, "eval_subsample": 1000, "seeds": [0, 1]},
        {"length": 200, "train_subsample": None, "eval_subsample": None, "seeds": [0]},
    ]
    assert [g["length"] for g in subsample_groups("ner", cells)] == [120, 200]


def test_baseline_is_fit_on_the_models_training_subsample(corpus: dict[str, Path]) -> None:
    cells = [{"length": LENGTH, "seed": 0, "hparams": _spec(0)["hparams"]}]
    groups = subsample_groups("sentiment", cells)
    result = compute_baselines("sentiment", corpus["tokens"], corpus["vocab"], groups=groups)
    (group,) = result["groups"]
    assert group["examples"] == {"train": TRAIN_N, "validation": EVAL_N, "test": EVAL_N}
    assert group["evaluated_on"] == "test, 8-example evaluation subsample (seed 0)"
    assert group["trained_on"] == "train, 10-example training subsample (seed 0)"
    # The whole training split's majority is "pos" (33 of 40); seed 0's subsample's is
    # "neg" (7 of 10): the baseline was fit on the subsample.
    assert group["baselines"][MAJORITY]["label"] == "neg"
    # BoW features: the 10 shared words (at most) plus one unique word per training
    # row it saw - exactly the rows subsample_rows(40, 10, seed 0) picks.
    bow = group["baselines"][BOW]["settings"]
    rows = subsample_rows(SIZES["train"], TRAIN_N, 0, train=True).tolist()
    train = [json.loads(x) for x in (corpus["tokens"] / "train.jsonl").read_text().splitlines()]
    assert bow["features"] == len({t for i in rows for t in train[i]["tokens"]})
    assert {f"train{i}" for i in rows} <= {t for i in rows for t in train[i]["tokens"]}
    # Its majority score is the one on the 8 evaluation rows the model of seed 0 sees.
    test = [json.loads(x) for x in (corpus["tokens"] / "test.jsonl").read_text().splitlines()]
    eval_rows = subsample_rows(SIZES["test"], EVAL_N, 0, train=False).tolist()
    expected = np.mean([test[i]["label"] == "neg" for i in eval_rows])
    assert group["baselines"][MAJORITY]["test"]["accuracy"] == pytest.approx(expected)


def test_one_majority_figure_everywhere(corpus: dict[str, Path], runs: list[Path]) -> None:
    metrics = [json.loads(p.read_text()) for p in runs]
    frame = collect_runs(runs)
    cell = {"length": LENGTH, "hparams": _spec(0)["hparams"]}
    for seeds in ([0], [0, 1]):
        groups = subsample_groups("sentiment", [{**cell, "seed": s} for s in seeds])
        doc = compute_baselines(
            "sentiment", corpus["tokens"], corpus["vocab"], groups=groups, dataset="toy"
        )
        (group,) = doc["groups"]
        figure = group["baselines"][MAJORITY]["test"]["accuracy"]
        runs_here = frame[frame["seed"].isin(seeds)]
        # what the comparison table shows
        table = comparison_table(runs_here, "toy", doc)
        row = table[table["arch"] == f"baseline: {MAJORITY}"]
        assert row["mean"].item() == figure
        assert row["evaluated_on"].item() == group["evaluated_on"]
        assert group["evaluated_on"] in render_html(table, "toy")
        # what the figures show
        level, note = majority_reference(runs_here)
        assert level == figure
        if seeds == [0]:
            # one seed: the very number of metrics.json and runs.csv, same words
            assert metrics[0]["majority_baseline"]["test"] == figure
            assert metrics[0]["majority_baseline"]["label"] == "neg"
            assert runs_here["majority_test"].item() == figure
            assert runs_here["majority_on"].item() == group["evaluated_on"] == note
        else:
            # two seeds, two evaluation subsamples: each run's figure is its own seed's
            # baseline, and the table and figures show their mean
            by_seed = group["baselines"][MAJORITY]["by_seed"]
            for m in metrics:
                assert (
                    by_seed[str(m["spec"]["seed"])]["test"]["accuracy"]
                    == (m["majority_baseline"]["test"])
                )
            mean = np.mean([m["majority_baseline"]["test"] for m in metrics])
            assert figure == pytest.approx(mean)
            assert note == group["evaluated_on"]
            assert note == "test, 8-example evaluation subsamples of seeds 0, 1 (mean)"


def test_train_sizes_share_validation_and_test_and_the_baselines_read_the_same_rows(
    corpus: dict[str, Path],
) -> None:
    """grid.train_sizes: the training job takes train_size_rows' rows (nested, the same
    for every seed), validation and test are the same arrays at every size, and the
    baselines of a size group are fit on exactly those training rows."""
    from rnnbench.data.arrays import train_size_rows
    from rnnbench.experiment.spec import resolve_spec
    from rnnbench.train.loop import _load_data

    data = corpus["root"] / f"len{LENGTH}.npz"
    loaded = {}
    for size in (None, 12, 24):
        spec = {**_spec(0), "hparams": {"epochs": 1, "device": "cpu"}}
        if size is not None:
            spec["train_size"] = size
        loaded[size] = _load_data(data, resolve_spec(spec))[1]
    labels = loaded[None]["train"].y
    for size in (12, 24):
        rows = train_size_rows(labels, size)
        np.testing.assert_array_equal(loaded[size]["train"].x, loaded[None]["train"].x[rows])
        for split in ("validation", "test"):
            np.testing.assert_array_equal(loaded[size][split].x, loaded[None][split].x)
            np.testing.assert_array_equal(loaded[size][split].y, loaded[None][split].y)
    assert set(train_size_rows(labels, 12)) < set(train_size_rows(labels, 24))

    groups = [{"length": LENGTH, "train_size": 12, "seeds": [0, 1]}]
    (group,) = compute_baselines("sentiment", corpus["tokens"], corpus["vocab"], groups=groups)[
        "groups"
    ]
    train = [json.loads(x) for x in (corpus["tokens"] / "train.jsonl").read_text().splitlines()]
    rows = train_size_rows(labels, 12).tolist()
    seen = {t for i in rows for t in train[i]["tokens"][:LENGTH]}
    assert group["baselines"][BOW]["settings"]["features"] == len(seen)
    assert group["examples"]["train"] == 12 and group["train_size"] == 12
    assert "of the 12-example training set (grid.train_sizes)" in group["trained_on"]
