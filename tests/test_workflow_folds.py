"""End to end: 5-fold cross-validation of a polarity corpus given as one file per class
(format lines, rt-polarity's layout), on a tiny generated corpus with a tiny model."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import run_snakemake

pytestmark = [pytest.mark.slow, pytest.mark.fault]

FOLDS = 5


def _write(workdir: Path) -> dict[str, str]:
    """rt-polarity's layout: latin-1, one snippet per line (blank lines among them), one
    file per class; every snippet holds a word of its own (w<i>) to trace it."""
    data = workdir / "data"
    data.mkdir()
    texts = {}
    for label, word, offset in (("pos", "caf\xe9 good", 0), ("neg", "dull bad", 100)):
        lines = [f"a {word} film w{offset + i} ." for i in range(20)]
        texts.update(dict.fromkeys(lines, label))
        body = "\n".join(lines[:5]) + "\n\n" + "\n".join(lines[5:]) + "\n"
        (data / f"rt-polarity.{label}").write_bytes(body.encode("latin-1"))
    config = {
        "datasets_to_run": ["rt"],
        "datasets": {
            "rt": {
                "task": "sentiment",
                "format": "lines",
                "classes": {"pos": "data/rt-polarity.pos", "neg": "data/rt-polarity.neg"},
                "options": {"encoding": "latin-1"},
                "split": {"folds": FOLDS},
                "text": {"tokenizer": "basic_english"},
                "grid": {
                    "lengths": [8],
                    "archs": ["rnn"],
                    "hparams": {
                        "epochs": 1,
                        "batch_size": 16,
                        "embedding_dim": 4,
                        "hidden": 4,
                        "head_hidden": 0,
                    },
                },
            }
        },
    }
    (workdir / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return texts


def _snakemake(workdir: Path, *args: str) -> str:
    result = run_snakemake(workdir, *args)
    if result.returncode != 0:
        pytest.fail(f"snakemake {args} failed:\n{result.stdout}\n{result.stderr[-4000:]}")
    return result.stdout + result.stderr


def test_five_fold_cross_validation_runs_end_to_end_and_pools_the_folds(tmp_path: Path) -> None:
    texts = _write(tmp_path)
    _snakemake(tmp_path, "--cores", "2")

    runs = pd.read_csv(tmp_path / "results/summary/runs.csv")
    assert runs["fold"].tolist() == list(range(FOLDS))
    assert (runs["seed"] == 0).all() and (runs["status"] == "ok").all()
    for fold in range(FOLDS):
        cell = tmp_path / f"results/runs/rt/rnn/adam/len8/fold{fold}/seed0"
        assert json.loads((cell / "metrics.json").read_text())["spec"]["fold"] == fold

    table = pd.read_csv(tmp_path / "results/summary/rt/comparison.csv")
    model = table[table["kind"] == "model"]
    assert model["n_seeds"].tolist() == [FOLDS]  # one cell: 5 folds x 1 seed
    assert model["mean"].iloc[0] == pytest.approx(runs["test_headline"].mean())
    html = (tmp_path / "results/summary/rt/comparison.html").read_text(encoding="utf-8")
    assert f"pools {FOLDS} folds x 1 seed(s), n = {FOLDS} runs" in html
    baselines = json.loads((tmp_path / "results/baselines/rt.json").read_text())
    assert baselines["folds"] == FOLDS

    # The folds partition the examples; fold i's vocabulary never saw fold i's test texts.
    seen: Counter[str] = Counter()
    for fold in range(FOLDS):
        root = tmp_path / f"results/prepared/rt/fold{fold}"
        split = {
            s: [json.loads(line) for line in (root / f"split/{s}.jsonl").read_text().splitlines()]
            for s in ("train", "validation", "test")
        }
        assert sum(map(len, split.values())) == len(texts)
        assert Counter(r["label"] for r in split["test"]) == {"pos": 4, "neg": 4}
        seen.update(r["text"] for r in split["test"])
        assert all(texts[r["text"]] == r["label"] for r in split["test"])
        vocab = set(json.loads((root / "vocab.json").read_text())["tokens"])
        test_words = {r["text"].split()[-2] for r in split["test"]}
        assert test_words and not vocab & test_words
        assert {r["text"].split()[-2] for r in split["train"]} <= vocab
    assert seen == Counter(list(texts))  # every example in exactly one test fold
    log = (tmp_path / "logs/prepare/rt/fold0/split.log").read_text(encoding="utf-8")
    assert "rt-polarity.pos: 20 example(s) of 'pos', 1 blank line(s) skipped" in log
    card = json.loads((tmp_path / "results/prepared/rt/datacard.json").read_text())
    assert card["cross_validation"] == {"folds": FOLDS, "splits_of_fold": 0}

    assert "Nothing to be done" in _snakemake(tmp_path, "-n")
