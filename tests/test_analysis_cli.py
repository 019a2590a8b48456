"""CLI round trip: baselines -> aggregate -> compare, as the Snakemake rules call them."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from rnnbench.analysis.collect import AnalysisError
from rnnbench.cli import build_parser
from test_analysis_baselines import sentiment_corpus
from test_analysis_helpers import LN2, make_metrics, seed_c_metrics, write_run


def _run(argv: list[str]) -> int:
    args = build_parser(argv).parse_args(argv)
    return args.func(args)


def test_round_trip(tmp_path: Path) -> None:
    tokens, vocab = sentiment_corpus(tmp_path / "prepared")
    baselines = tmp_path / "summary" / "baselines" / "imdb.json"
    assert (
        _run(
            [
                "baselines",
                "--dataset",
                "imdb",
                "--task",
                "sentiment",
                "--tokens-dir",
                str(tokens),
                "--vocab",
                str(vocab),
                "--out",
                str(baselines),
            ]
        )
        == 0
    )
    assert json.loads(baselines.read_text())["dataset"] == "imdb"

    runs_root = tmp_path / "runs"
    paths = [write_run(runs_root, make_metrics(seed=s, accuracy=0.8 + s / 50)) for s in range(3)]
    paths += [write_run(runs_root, seed_c_metrics(seed=s), [LN2] * 3) for s in range(2)]
    listing = tmp_path / "metrics.txt"
    listing.write_text("\n".join(str(p) for p in paths[3:]) + "\n")
    runs_csv = tmp_path / "summary" / "runs.csv"
    argv = ["aggregate", "--metrics", *map(str, paths[:3]), "--metrics-from", str(listing)]
    assert _run([*argv, "--out", str(runs_csv)]) == 0
    assert len(pd.read_csv(runs_csv)) == 5

    csv_out, html_out = tmp_path / "summary" / "imdb.csv", tmp_path / "summary" / "imdb.html"
    assert (
        _run(
            [
                "compare",
                "--runs",
                str(runs_csv),
                "--dataset",
                "imdb",
                "--baselines",
                str(baselines),
                "--csv",
                str(csv_out),
                "--html",
                str(html_out),
            ]
        )
        == 0
    )
    table = pd.read_csv(csv_out)
    assert table["arch"].tolist() == ["rnn", "lstm", "baseline: majority", "baseline: bow-logreg"]
    assert table.loc[table["arch"] == "lstm", "mark"].item() == "best"
    assert "imdb: test accuracy" in html_out.read_text()


def test_errors(tmp_path: Path) -> None:
    with pytest.raises(AnalysisError, match="missing"):
        _run(["aggregate", "--metrics", str(tmp_path / "missing.json"), "--out", "x.csv"])
    with pytest.raises(AnalysisError, match="--encoded"):
        _run(["baselines", "--task", "memory", "--out", str(tmp_path / "b.json")])
    with pytest.raises(AnalysisError, match="runs table not found"):
        _run(
            [
                "compare",
                "--runs",
                str(tmp_path / "no.csv"),
                "--dataset",
                "x",
                "--csv",
                "a",
                "--html",
                "b",
            ]
        )
