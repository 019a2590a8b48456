"""Comparison tables: seed-C runs flagged and never best, statistics as scipy gives them,
only-changed parameter columns, baselines alongside, CSV and HTML output."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from rnnbench.analysis.collect import collect_runs, read_runs_csv, write_runs_csv
from rnnbench.analysis.compare import comparison_table
from rnnbench.analysis.compare_page import render_html, write_comparison
from rnnbench.analysis.stats import MARK_BEST, MARK_NOT_WORSE
from test_analysis_helpers import LN2, make_metrics, seed_c_metrics, write_run

LSTM = [0.85, 0.86, 0.87]
GRU = [0.845, 0.855, 0.86]
RNN = [0.70, 0.71, 0.72]
BASELINES = {
    "task": "sentiment",
    "headline_metric": "accuracy",
    "baselines": {
        "majority": {"label": "neg", "validation": {"accuracy": 0.5}, "test": {"accuracy": 0.5}},
        "bow-logreg": {"validation": {"accuracy": 0.88}, "test": {"accuracy": 0.87}},
    },
}


def _rows(page: str, cls: str) -> int:
    """Rows of the HTML table whose cells carry ``cls`` (best, tied, flagged, baseline)."""
    return len(re.findall(rf'class="data row\d+ col0 {cls}"', page))


def _grid(root: Path) -> list[Path]:
    paths = []
    for arch, scores, params in (("lstm", LSTM, 3000), ("gru", GRU, 2500), ("rnn", RNN, 900)):
        for seed, acc in enumerate(scores):
            metrics = make_metrics(arch=arch, seed=seed, accuracy=acc, params=params)
            paths.append(write_run(root, metrics, [0.6, 0.4, 0.3]))
    # Seed C's kind: three seeds at ln 2 throughout, "99%" on single-class labels; its
    # mean is the highest in the table.
    for seed in range(3):
        paths.append(write_run(root, seed_c_metrics(arch="rnn_c", seed=seed), [LN2] * 5))
    return paths


@pytest.fixture
def table(tmp_path: Path) -> pd.DataFrame:
    return comparison_table(collect_runs(_grid(tmp_path)), "imdb", BASELINES)


def _cell(table: pd.DataFrame, arch: str) -> dict:
    rows = table[table["arch"] == arch].to_dict("records")
    assert len(rows) == 1, rows
    return rows[0]


def test_seed_c_cell_is_flagged_and_not_ranked_best(table: pd.DataFrame) -> None:
    seed_c = _cell(table, "rnn_c")
    assert seed_c["mean"] == pytest.approx(0.99)
    assert seed_c["mean"] == table["mean"].max()  # it would win on the number alone
    assert seed_c["flags"] == "single_class;stuck;degenerate"
    assert seed_c["flagged_runs"] == 3
    assert seed_c["mark"] == "" and pd.isna(seed_c["rank"])
    assert table.iloc[0]["arch"] == "rnn_c"  # shown on top, flagged, not hidden
    assert _cell(table, "lstm")["mark"] == MARK_BEST
    assert _cell(table, "lstm")["rank"] == 1


def test_statistics_match_scipy(table: pd.DataFrame) -> None:
    lstm = _cell(table, "lstm")
    arr = np.array(LSTM)
    lo, hi = sps.t.interval(0.95, 2, loc=arr.mean(), scale=arr.std(ddof=1) / math.sqrt(3))
    assert (lstm["mean"], lstm["sd"]) == pytest.approx((arr.mean(), arr.std(ddof=1)))
    assert (lstm["ci_low"], lstm["ci_high"]) == pytest.approx((lo, hi))
    assert lstm["n_seeds"] == lstm["n_scored"] == 3
    assert lstm["params"] == 3000 and lstm["seconds_per_epoch"] == pytest.approx(2.0)

    gru, rnn = _cell(table, "gru"), _cell(table, "rnn")
    p_gru = sps.ttest_ind(GRU, LSTM, equal_var=False, alternative="less").pvalue
    p_rnn = sps.ttest_ind(RNN, LSTM, equal_var=False, alternative="less").pvalue
    assert p_gru >= 0.05 > p_rnn
    assert gru["p_vs_best"] == pytest.approx(p_gru) and gru["mark"] == MARK_NOT_WORSE
    assert rnn["p_vs_best"] == pytest.approx(p_rnn) and rnn["mark"] == ""
    assert (gru["rank"], rnn["rank"]) == (2, 3)


def test_only_changed_columns(table: pd.DataFrame, tmp_path: Path) -> None:
    # optimizer is adam and length 120 everywhere except seed C's sgd cell, and seed C's
    # lr differs: optimizer and hp_lr vary, length and the other hparams do not.
    params = table.attrs["parameters"]
    assert params == ["arch", "optimizer", "hp_lr"]
    assert "length" not in table.columns and "hp_hidden" not in table.columns
    only = collect_runs(_grid(tmp_path / "g"))
    only = only[only["arch"] != "rnn_c"]
    assert comparison_table(only, "imdb").attrs["parameters"] == ["arch"]
    extra = [
        write_run(tmp_path / "l", make_metrics(length=length, seed=s, accuracy=0.8 + s / 100))
        for length in (50, 200)
        for s in range(2)
    ]
    by_length = comparison_table(collect_runs(extra), "imdb")
    assert by_length.attrs["parameters"] == ["arch", "length"]
    assert by_length["length"].tolist() == [50, 200] or by_length["length"].tolist() == [200, 50]


def test_baseline_rows(table: pd.DataFrame) -> None:
    base = table[table["kind"] == "baseline"]
    assert base["arch"].tolist() == ["baseline: majority", "baseline: bow-logreg"]
    assert base["mean"].tolist() == [0.5, 0.87]
    assert (base["mark"] == "").all() and base["rank"].isna().all()


def test_diverged_seed_counts_but_is_not_scored(tmp_path: Path) -> None:
    paths = [write_run(tmp_path, make_metrics(seed=s, accuracy=0.8 + s / 100)) for s in range(2)]
    paths.append(
        write_run(
            tmp_path,
            make_metrics(seed=2, status="diverged", test=None, final_train_loss=None),
        )
    )
    paths.append(write_run(tmp_path, make_metrics(arch="gru", accuracy=0.7)))
    table = comparison_table(collect_runs(paths), "imdb")
    lstm = _cell(table, "lstm")
    assert (lstm["n_seeds"], lstm["n_scored"]) == (3, 2)
    assert lstm["flags"] == "diverged" and lstm["mark"] == ""
    # gru is the only unflagged cell, but one seed cannot be tested: no mark.
    assert _cell(table, "gru")["mark"] == "" and _cell(table, "gru")["rank"] == 1


def test_single_seed_cells_get_no_mark_and_the_legend_says_so(tmp_path: Path) -> None:
    paths = [write_run(tmp_path, make_metrics(seed=s, accuracy=a)) for s, a in enumerate(GRU)]
    paths.append(write_run(tmp_path, make_metrics(arch="gru", accuracy=0.95)))  # one seed
    paths += [
        write_run(tmp_path, make_metrics(arch="rnn", seed=s, accuracy=a))
        for s, a in enumerate(LSTM)
    ]
    table = comparison_table(collect_runs(paths), "imdb")
    gru, rnn, lstm = _cell(table, "gru"), _cell(table, "rnn"), _cell(table, "lstm")
    assert gru["mean"] == table["mean"].max() and gru["rank"] == 1
    assert gru["mark"] == "" and pd.isna(gru["p_vs_best"])  # highest mean, yet unmarked
    assert rnn["mark"] == MARK_BEST and lstm["mark"] == MARK_NOT_WORSE
    html_path = tmp_path / "t.html"
    write_comparison(table, tmp_path / "t.csv", html_path, "imdb")
    page = html_path.read_text(encoding="utf-8")
    assert _rows(page, "best") == _rows(page, "tied") == 1
    assert "Cells with fewer than 2 scored seeds cannot be tested and get no mark" in page
    assert "highest mean among cells with at least 2 scored seeds" in page
    caption = (Path(__file__).parents[1] / "reports/captions/comparison.rst").read_text()
    assert "fewer than 2 scored seeds get no mark" in " ".join(caption.split())


def test_memory_cells_report_the_solved_fraction(tmp_path: Path) -> None:
    def run(arch: str, seed: int, accuracy: float) -> Path:
        metrics = make_metrics(dataset="mem", task="memory", arch=arch, seed=seed)
        metrics["test"] = {"loss": 0.3, "accuracy": accuracy}
        return write_run(tmp_path, metrics)

    paths = [run("lstm", s, a) for s, a in enumerate([0.99, 0.90, 0.51])]
    paths += [run("rnn", s, a) for s, a in enumerate([0.50, 0.52])]
    table = comparison_table(collect_runs(paths), "mem")
    assert _cell(table, "lstm")["solved"] == "2/3 solved (acc >= 0.9)"
    assert _cell(table, "rnn")["solved"] == "0/2 solved (acc >= 0.9)"
    write_comparison(table, tmp_path / "m.csv", tmp_path / "m.html", "mem")
    page = (tmp_path / "m.html").read_text(encoding="utf-8")
    assert ">solved</th>" in page and ">2/3</td>" in page  # the threshold: in the legend
    assert "accuracy &ge; 0.9" in page  # the legend states the threshold
    back = pd.read_csv(tmp_path / "m.csv")
    assert back["solved"].tolist()[:2] == ["2/3 solved (acc >= 0.9)", "0/2 solved (acc >= 0.9)"]
    sentiment = comparison_table(collect_runs(_grid(tmp_path / "s")), "imdb")
    assert (sentiment["solved"] == "").all()


def test_mixed_machines_and_execution_paths_are_noted(tmp_path: Path) -> None:
    paths = [
        write_run(tmp_path, make_metrics(seed=0, exec_path="torch module (oneDNN)")),
        write_run(tmp_path, make_metrics(seed=1, exec_path="cuDNN", device_name="NVIDIA H200")),
        write_run(tmp_path, make_metrics(arch="gru", seed=0, accuracy=0.8)),
        write_run(tmp_path, make_metrics(arch="gru", seed=1, accuracy=0.81)),
        write_run(tmp_path, make_metrics(arch="cnn", exec_path="no recurrent layer")),
    ]
    table = comparison_table(collect_runs(paths), "imdb")
    notes = table.attrs["notes"]
    assert notes == [
        "cells ran on 2 machines: NVIDIA H200 (lstm); Test CPU (cnn, gru, lstm); the seeds "
        "of lstm differ within the cell.",
        "execution paths differ (what ran the recurrent layers): compiled kernels (gru); "
        "cuDNN (lstm); torch module (oneDNN) (lstm); the seeds of lstm differ within the cell.",
    ]
    lstm = _cell(table, "lstm")
    assert lstm["exec_path"] == "cuDNN; torch module (oneDNN)"
    assert lstm["device_name"] == "NVIDIA H200; Test CPU"
    assert _cell(table, "gru")["exec_path"] == "compiled kernels"
    write_comparison(table, tmp_path / "t.csv", tmp_path / "t.html", "imdb")
    page = (tmp_path / "t.html").read_text(encoding="utf-8")
    assert '<p class="note">&#9888; cells ran on 2 machines: NVIDIA H200' in page
    assert ">machine</th>" in page and ">execution</th>" in page
    # One machine, but lstm on torch's kernel and gru on the compiled ones: paths only.
    one_machine = [p for p in paths if "lstm/adam/len120/seed1" not in str(p)]
    assert comparison_table(collect_runs(one_machine), "imdb").attrs["notes"] == [
        "execution paths differ (what ran the recurrent layers): compiled kernels (gru); "
        "torch module (oneDNN) (lstm)."
    ]
    # One machine and one recurrent path (the CNN's has no alternative): no note.
    same = [p for p in paths if "/lstm/" not in str(p)]
    assert comparison_table(collect_runs(same), "imdb").attrs["notes"] == []
    page = render_html(comparison_table(collect_runs(same), "imdb"), "imdb")
    assert 'class="note"' not in page and ">machine</th>" not in page


def test_unknown_dataset_is_an_error(table: pd.DataFrame, tmp_path: Path) -> None:
    from rnnbench.analysis.collect import AnalysisError

    with pytest.raises(AnalysisError, match="no runs for dataset 'gmb'"):
        comparison_table(collect_runs(_grid(tmp_path)), "gmb")


def test_csv_and_html_output(tmp_path: Path) -> None:
    write_runs_csv(_grid(tmp_path / "runs"), tmp_path / "runs.csv")
    table = comparison_table(read_runs_csv(tmp_path / "runs.csv"), "imdb", BASELINES)
    write_comparison(table, tmp_path / "t.csv", tmp_path / "t.html", "imdb <test>")
    back = pd.read_csv(tmp_path / "t.csv")
    assert back["mean"].tolist() == pytest.approx(table["mean"].tolist())
    assert back["mark"].fillna("").tolist() == table["mark"].tolist()
    page = (tmp_path / "t.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page
    assert "imdb &lt;test&gt;" in page  # escaped title
    assert _rows(page, "flagged") == 1
    assert _rows(page, "best") == 1
    assert _rows(page, "tied") == 1
    assert _rows(page, "baseline") == 2
    lstm = _cell(table, "lstm")
    half = (lstm["ci_high"] - lstm["ci_low"]) / 2  # metrics: 3 decimals ± the t-interval
    assert f"{lstm['mean']:.3f} ± {half:.3f}" in page
    assert "0.860 ± " in page and "Welch" in page and "degenerate" in page
    assert "lr</th>" in page and ">1e-3</td>" in page  # learning rates in scientific notation
    assert ">3,000</td>" in page  # parameter counts as integers
    assert "position: sticky" in page  # the header stays in view
