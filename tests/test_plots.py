"""The figures of rnnbench.analysis.plots, drawn from small synthetic runs tables.

Every table (and every history.csv it points to) is built here; each figure kind of each
dataset is rendered once per module and shared by the checks on it.
"""

from __future__ import annotations

import logging
import math
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rnnbench.analysis import plots
from rnnbench.analysis.plots import PLOT_KINDS, plot, plot_all
from rnnbench.cli import build_parser

SVG_NS = "{http://www.w3.org/2000/svg}"
SIZE_KIND = "metric_vs_train_size"
NER_TYPES = ("geo", "gpe", "org", "per", "tim", "art", "eve", "nat")
HISTORY_COLUMNS = {
    "sentiment": ["val_f1", "val_auc"],
    "memory": [],
    "ner": ["val_token_accuracy", "val_non_o_accuracy", "val_entity_precision"],
}


# --- synthetic runs ------------------------------------------------------------------


def _history(path: Path, headline: str, task: str, epochs: int, quality: float, rng) -> None:
    epoch = np.arange(1, epochs + 1)
    frame = pd.DataFrame(
        {
            "epoch": epoch,
            "train_loss": 0.7 * np.exp(-epoch / 3) + 0.05,
            "val_loss": 0.7 * np.exp(-epoch / 4) + 0.2 + rng.normal(0, 0.01, epochs),
            f"val_{headline}": quality * (1 - 0.4 * np.exp(-epoch / 2)),
        }
    )
    for column in HISTORY_COLUMNS[task]:
        frame[column] = quality
    frame["seconds"] = 1.5
    path.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path / "history.csv", index=False)


def _row(dataset, task, headline, arch, opt, length, seed, value, seconds, run_dir) -> dict:
    diverged = value is None or (isinstance(value, float) and math.isnan(value))
    return {
        "dataset": dataset,
        "task": task,
        "arch": arch,
        "optimizer": opt,
        "length": length,
        "seed": seed,
        "status": "diverged" if diverged else "ok",
        "flags": "diverged" if diverged else "",
        "params": 1000,
        "epochs_run": 5,
        "best_epoch": 4,
        "seconds_per_epoch": seconds,
        "samples_per_second": 100.0 / seconds,
        "headline_metric": headline,
        "test_headline": np.nan if diverged else value,
        f"test_{headline}": np.nan if diverged else value,
        f"validation_{headline}": np.nan if diverged else value + 0.01,
        "run_dir": str(run_dir),
    }


def sentiment_runs(root: Path, dataset: str = "imdb") -> pd.DataFrame:
    """4 archs x 2 optimizers x 2 lengths x 2 seeds; one degenerate run, one diverged."""
    rng = np.random.default_rng(0)
    base = {"flatten": 0.74, "cnn": 0.83, "rnn": 0.62, "lstm": 0.86}
    cost = {"flatten": 0.4, "cnn": 1.1, "rnn": 3.0, "lstm": 9.0}
    rows = []
    for arch, quality in base.items():
        for opt, shift in (("sgd", -0.08), ("adam", 0.0)):
            for length in (120, 200):
                for seed in (0, 1):
                    value = quality + shift + rng.normal(0, 0.01) + (length == 200) * 0.01
                    if (arch, opt, length, seed) == ("lstm", "sgd", 200, 1):
                        value = math.nan  # diverged
                    run_dir = root / dataset / arch / opt / f"len{length}" / f"seed{seed}"
                    _history(
                        run_dir, "accuracy", "sentiment", 6, value if value == value else 0.5, rng
                    )
                    row = _row(
                        dataset,
                        "sentiment",
                        "accuracy",
                        arch,
                        opt,
                        length,
                        seed,
                        value,
                        cost[arch] * length / 120 * (1 + 0.05 * seed),
                        run_dir,
                    )
                    row["test_f1"] = row["test_accuracy"]
                    row["test_auc"] = row["test_accuracy"]
                    if (arch, opt, length, seed) == ("rnn", "sgd", 120, 0):
                        row.update(flags="degenerate", test_headline=0.5, test_accuracy=0.5)
                    rows.append(row)
    return pd.DataFrame(rows)


def ner_runs(root: Path, dataset: str = "gmb") -> pd.DataFrame:
    rng = np.random.default_rng(1)
    rows = []
    for arch, quality in (("lstm", 0.78), ("bilstm", 0.82), ("gru", 0.76)):
        for opt, shift in (("adam", 0.0), ("rmsprop", -0.03)):
            for seed in (0, 1):
                run_dir = root / dataset / arch / opt / "len104" / f"seed{seed}"
                value = quality + shift + rng.normal(0, 0.01)
                _history(run_dir, "entity_f1", "ner", 5, value, rng)
                row = _row(dataset, "ner", "entity_f1", arch, opt, 104, seed, value, 2.0, run_dir)
                row["test_token_accuracy"] = 0.95
                row.update(majority_validation=0.85, majority_test=0.85)  # token accuracy
                for k, entity in enumerate(NER_TYPES):
                    row[f"test_entity_f1_{entity}"] = max(
                        0.0, value - 0.08 * k + rng.normal(0, 0.02)
                    )
                row["test_entity_f1_nat"] = np.nan  # absent from the test split
                rows.append(row)
    return pd.DataFrame(rows)


def memory_runs(root: Path, dataset: str = "memory") -> pd.DataFrame:
    """Seed B's figure: the RNN forgets the signal as the sequence grows, the LSTM does not."""
    rng = np.random.default_rng(2)
    rows = []
    for arch in ("rnn", "lstm"):
        for length in (20, 50, 100, 200):
            for seed in (0, 1, 2):
                if arch == "rnn":
                    value = 0.5 + 0.5 * math.exp(-length / 40) + rng.normal(0, 0.01)
                else:
                    value = 1.0 - 0.0005 * length + rng.normal(0, 0.005)
                run_dir = root / dataset / arch / "adam" / f"len{length}" / f"seed{seed}"
                _history(run_dir, "accuracy", "memory", 8, value, rng)
                seconds = (0.1 if arch == "rnn" else 0.3) * length / 20
                row = _row(
                    dataset,
                    "memory",
                    "accuracy",
                    arch,
                    "adam",
                    length,
                    seed,
                    value,
                    seconds,
                    run_dir,
                )
                row.update(majority_validation=0.51, majority_test=0.503)
                rows.append(row)
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> pd.DataFrame:
    root = tmp_path_factory.mktemp("runs")
    return pd.concat([sentiment_runs(root), ner_runs(root), memory_runs(root)], ignore_index=True)


@pytest.fixture(scope="module")
def runs_csv(runs, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("summary") / "runs.csv"
    runs.to_csv(path, index=False)
    return path


CASES = (
    # these grids have no grid.train_sizes: tests/test_analysis_budget.py draws that figure
    [("imdb", kind) for kind in PLOT_KINDS if kind not in ("entity_f1_per_type", SIZE_KIND)]
    + [("gmb", kind) for kind in PLOT_KINDS if kind != SIZE_KIND]
    + [
        ("memory", kind)
        for kind in ("heatmap", "metric_vs_length", "metric_vs_cost", "learning_curves")
    ]
)


@pytest.fixture(scope="module")
def rendered(runs, tmp_path_factory) -> dict[tuple[str, str], Path]:
    out = tmp_path_factory.mktemp("figures")
    paths = {}
    for dataset, kind in CASES:
        path = out / dataset / f"{kind}.svg"
        plot(kind, runs, dataset, path)
        paths[dataset, kind] = path
    return paths


def svg_texts(path: Path) -> list[str]:
    """Every text string of an SVG (parsing it proves it is well-formed XML)."""
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG_NS}svg"
    return ["".join(el.itertext()) for el in root.iter(f"{SVG_NS}text")]


def joined(path: Path) -> str:
    return "\n".join(svg_texts(path))


# --- every figure ----------------------------------------------------------------------

EXPECTED = {
    "heatmap": ["by architecture × optimizer", "optimizer", "architecture", "length"],
    "learning_curves": ["learning curves", "epoch", "validation loss", "optimizer: adam"],
    "metric_vs_length": ["vs sequence length", "sequence length (tokens)"],
    "metric_vs_cost": ["seconds per epoch (s)", "cost vs quality", "Pareto front"],
    "entity_f1_per_type": ["entity F1 per entity type", "entity type", "test entity F1", "geo"],
}
METRIC_LABEL = {"imdb": "test accuracy", "gmb": "test entity F1", "memory": "test accuracy"}


@pytest.mark.parametrize(("dataset", "kind"), CASES)
def test_figure_is_titled_and_labelled_svg(rendered, dataset, kind):
    text = joined(rendered[dataset, kind])
    assert f"{dataset}:" in text  # the title names the dataset
    for expected in EXPECTED[kind]:
        assert expected in text
    if kind == "learning_curves":
        assert METRIC_LABEL[dataset].replace("test", "validation") in text
    else:
        assert METRIC_LABEL[dataset] in text
    assert "no data" not in text


def test_heatmap_marks_flagged_cells(rendered):
    texts = svg_texts(rendered["imdb", "heatmap"])
    assert "!" in texts
    assert any(plots.FLAG_NOTE in t for t in texts)
    # the memory grid has no flagged run: no marker, no footnote
    assert "!" not in svg_texts(rendered["memory", "heatmap"])


def test_heatmap_cell_whose_seeds_all_diverged_is_empty_not_a_crash(runs, tmp_path):
    bad = runs.copy()
    cell = (bad["dataset"] == "imdb") & (bad["arch"] == "cnn") & (bad["optimizer"] == "adam")
    cell &= bad["length"] == 120
    bad.loc[cell, ["test_headline", "test_accuracy"]] = np.nan
    bad.loc[cell, ["status", "flags"]] = "diverged"
    plot("heatmap", bad, "imdb", tmp_path / "h.svg")
    texts = svg_texts(tmp_path / "h.svg")
    assert "–" in texts  # the empty cell
    assert any("no finite test value" in t for t in texts)


def test_metric_vs_length_has_reference_line_and_flag_marker(rendered):
    text = joined(rendered["imdb", "metric_vs_length"])
    assert "chance (0.5)" in text  # no majority_* columns: the binary task's chance level
    assert "flagged run" in text
    assert "left out, no finite test value: lstm/sgd/len200/seed1 [diverged]" in text
    memory = joined(rendered["memory", "metric_vs_length"])
    assert "majority class: 0.5030" in memory and "rnn" in memory and "lstm" in memory
    assert "(test, whole split)" in memory
    # one majority figure everywhere: the learning curves show the same test figure
    # (labelled as such), not the validation one (0.51)
    curves = joined(rendered["memory", "learning_curves"])
    assert "majority class: 0.5030" in curves and "majority class: 0.51" not in curves
    # NER's majority baseline is a token accuracy: no line on an entity F1 axis
    gmb = joined(rendered["gmb", "metric_vs_length"])
    assert "chance" not in gmb and "majority" not in gmb


def test_entity_f1_picks_best_setting_and_skips_nan_type(rendered):
    text = joined(rendered["gmb", "entity_f1_per_type"])
    assert "bilstm (adam)" in text  # adam beats rmsprop by validation entity F1
    assert "all (micro)" in text
    for entity in NER_TYPES[:-1]:
        assert entity in text


def test_learning_curves_skip_missing_history_with_warning(runs, tmp_path, caplog):
    imdb = runs[runs["dataset"] == "imdb"].copy()
    imdb.loc[imdb.index[:3], "run_dir"] = str(tmp_path / "nowhere")
    with caplog.at_level(logging.WARNING, logger="rnnbench.analysis.plots"):
        plot("learning_curves", imdb, "imdb", tmp_path / "lc.svg")
    assert "cannot read" in caplog.text
    text = joined(tmp_path / "lc.svg")
    assert "3 run(s) without a readable history.csv left out" in text
    assert "no data" not in text


def test_learning_curves_without_any_history_say_no_data(runs, tmp_path):
    imdb = runs[runs["dataset"] == "imdb"].assign(run_dir=str(tmp_path / "nowhere"))
    plot("learning_curves", imdb, "imdb", tmp_path / "lc.svg")
    assert "no data" in svg_texts(tmp_path / "lc.svg")


def test_relative_run_dir_is_relative_to_cwd(runs, tmp_path, monkeypatch):
    memory = runs[runs["dataset"] == "memory"].copy()
    base = Path(memory["run_dir"].iloc[0]).parents[4]
    monkeypatch.chdir(base)
    memory["run_dir"] = [str(Path(p).relative_to(base)) for p in memory["run_dir"]]
    plot("learning_curves", memory, "memory", tmp_path / "lc.svg")
    assert "no data" not in joined(tmp_path / "lc.svg")


# --- determinism and degenerate input --------------------------------------------------


@pytest.mark.parametrize("kind", ["heatmap", "learning_curves", "metric_vs_length"])
def test_same_data_gives_identical_bytes(runs, rendered, tmp_path, kind):
    dataset = "imdb"
    again = tmp_path / "again.svg"
    plot(kind, runs, dataset, again)
    assert again.read_bytes() == rendered[dataset, kind].read_bytes()


def test_identical_bytes_for_cost_and_entity_plots(runs, rendered, tmp_path):
    for dataset, kind in (("memory", "metric_vs_cost"), ("gmb", "entity_f1_per_type")):
        again = tmp_path / f"{kind}.svg"
        plot(kind, runs, dataset, again)
        assert again.read_bytes() == rendered[dataset, kind].read_bytes()


def test_identical_bytes_across_processes(runs_csv, rendered, tmp_path):
    """A fresh interpreter (other hash seed) writes the same file: Snakemake reruns see no change."""
    out = tmp_path / "lc.svg"
    code = (
        "import sys; from rnnbench.analysis.plots import plot, read_runs; "
        "plot('learning_curves', read_runs(sys.argv[1]), 'imdb', sys.argv[2])"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", code, str(runs_csv), str(out)], check=True, env=env)
    assert out.read_bytes() == rendered["imdb", "learning_curves"].read_bytes()


def degenerate(runs: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """One architecture, one optimizer, one length, every metric NaN."""
    df = runs[runs["dataset"] == dataset]
    one = df[(df["arch"] == df["arch"].iloc[0]) & (df["optimizer"] == df["optimizer"].iloc[0])]
    one = one[one["length"] == one["length"].iloc[0]].copy()
    metrics = [c for c in one.columns if c.startswith(("test_", "validation_"))]
    one[metrics] = np.nan
    one["seconds_per_epoch"] = np.nan
    one["status"] = "diverged"
    one["flags"] = "diverged"
    return one


@pytest.mark.parametrize("kind", PLOT_KINDS)
def test_all_nan_input_gives_no_data_svg(runs, tmp_path, kind):
    out = tmp_path / "sub" / f"{kind}.svg"
    dataset = "gmb"
    df = degenerate(runs, dataset)
    if kind == "learning_curves":
        df["run_dir"] = str(tmp_path / "missing")
    plot(kind, df, dataset, out)
    texts = svg_texts(out)
    assert "no data" in texts
    assert any(t.startswith(f"{dataset}:") for t in texts)


def test_single_cell_with_values_still_plots(runs, tmp_path):
    df = runs[(runs["dataset"] == "memory") & (runs["arch"] == "lstm") & (runs["length"] == 50)]
    for kind in ("heatmap", "metric_vs_length", "metric_vs_cost"):
        plot(kind, df, "memory", tmp_path / f"{kind}.svg")
        text = joined(tmp_path / f"{kind}.svg")
        assert "no data" not in text and "test accuracy" in text
    assert "only one sequence length" in joined(tmp_path / "metric_vs_length.svg")


def test_unknown_dataset_and_non_ner_entity_plot_say_no_data(runs, tmp_path):
    plot("heatmap", runs, "nosuch", tmp_path / "a.svg")
    assert "no data" in svg_texts(tmp_path / "a.svg")
    plot("entity_f1_per_type", runs, "imdb", tmp_path / "b.svg")
    assert "not an NER dataset" in joined(tmp_path / "b.svg")


def test_unknown_kind_is_an_error(runs, tmp_path):
    with pytest.raises(ValueError, match="unknown plot kind"):
        plot("pie", runs, "imdb", tmp_path / "x.svg")


def test_no_figure_is_left_open(runs, tmp_path):
    import matplotlib.pyplot as plt

    plt.close("all")
    plot("heatmap", runs, "imdb", tmp_path / "a.svg")
    plot("heatmap", runs, "nosuch", tmp_path / "b.svg")
    assert plt.get_fignums() == []


# --- plot_all and the command line ---------------------------------------------------


def test_plot_all_writes_entity_plot_only_for_ner(runs_csv, tmp_path):
    ner = plot_all(runs_csv, "gmb", tmp_path / "gmb")
    # no run records a training-set size, so no size figure
    assert [Path(p).name for p in ner] == [f"{k}.svg" for k in PLOT_KINDS if k != SIZE_KIND]
    sentiment = plot_all(runs_csv, "memory", tmp_path / "memory")
    assert "entity_f1_per_type.svg" not in {Path(p).name for p in sentiment}
    assert len(sentiment) == len(PLOT_KINDS) - 2
    for path in ner + sentiment:
        svg_texts(Path(path))


def test_cli_round_trip(runs_csv, rendered, tmp_path):
    parser = build_parser(["plot"])
    out = tmp_path / "cli" / "heatmap.svg"
    args = parser.parse_args(
        [
            "plot",
            "--runs",
            str(runs_csv),
            "--dataset",
            "imdb",
            "--kind",
            "heatmap",
            "--out",
            str(out),
        ]
    )
    assert args.func(args) == 0
    # runs.csv read back from disk ("" flags become NaN there) draws the same figure
    assert out.read_bytes() == rendered["imdb", "heatmap"].read_bytes()
    with pytest.raises(SystemExit):
        parser.parse_args(["plot", "--runs", "r", "--dataset", "d", "--kind", "pie", "--out", "o"])


# --- one interval method: the comparison table's t-interval --------------------------


def _rgba(color) -> tuple[float, ...]:
    from matplotlib.colors import to_rgba

    return tuple(round(v, 6) for v in to_rgba(color))


def _table(runs: pd.DataFrame, dataset: str) -> pd.DataFrame:
    from rnnbench.analysis.compare import comparison_table

    table = comparison_table(runs, dataset)
    return table[table["kind"] == "model"]


def test_metric_vs_length_error_bars_are_the_tables_t_intervals(runs):
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    fig = plots.figure("metric_vs_length", runs, "imdb")
    try:
        axes = {ax.get_title().removeprefix("optimizer: "): ax for ax in fig.axes if ax.get_title()}
        palette = plots._palette(["flatten", "cnn", "rnn", "lstm"])
        compared = 0
        for row in _table(runs, "imdb").itertuples():
            bars = [  # the vertical error bar of this cell: its colour, its x
                seg
                for coll in axes[row.optimizer].collections
                if isinstance(coll, LineCollection)
                and _rgba(coll.get_colors()[0]) == _rgba(palette[row.arch])
                for seg in coll.get_segments()
                if len(seg) == 2 and seg[0][0] == seg[1][0] == row.length
            ]
            if math.isnan(row.ci_low):  # one scored seed (lstm/sgd/200): no bar, as no CI
                assert row.n_scored == 1 and bars == []
                continue
            assert len(bars) == 1
            low, high = sorted(bars[0][:, 1])
            # seaborn draws mean -/+ (mean - ci_low, ci_high - mean): equal to the last ulp
            assert low == pytest.approx(row.ci_low, rel=4 * np.finfo(float).eps, abs=0)
            assert high == pytest.approx(row.ci_high, rel=4 * np.finfo(float).eps, abs=0)
            compared += 1
        assert compared == 15  # 16 cells, one with a single scored seed
    finally:
        plt.close(fig)


def test_entity_f1_error_bars_are_the_tables_t_intervals(runs):
    """The "all (micro)" bars are each architecture's headline cell: the bar's ends are
    the table's ci_low and ci_high exactly (seaborn draws the interval's ends as given)."""
    import matplotlib.pyplot as plt

    fig = plots.figure("entity_f1_per_type", runs, "gmb")
    try:
        ax = fig.axes[0]
        table = _table(runs, "gmb").set_index(["arch", "optimizer"])
        archs = ["lstm", "gru", "bilstm"]  # hue order (names.ARCHITECTURES), first category
        width = 0.8 / len(archs)
        for k, arch in enumerate(archs):
            x = -0.4 + width / 2 + k * width
            ends = set()
            for line in ax.lines:  # an error bar: caps and the vertical line at the centre
                xy = line.get_xydata()
                vertical = xy[np.isclose(xy[:, 0], x)]
                if len(vertical):
                    ends.add((vertical[:, 1].min(), vertical[:, 1].max()))
            cell = table.loc[(arch, "adam")]  # adam is every architecture's best setting
            assert ends == {(cell["ci_low"], cell["ci_high"])}
    finally:
        plt.close(fig)


def test_seed_interval_is_the_tables_function():
    values = [0.81, 0.84, 0.79]
    assert plots.seed_interval(values) == stats_mean_sd_ci(values)[2:]
    assert plots.seed_mean(values) == stats_mean_sd_ci(values)[0]
    assert all(math.isnan(v) for v in plots.seed_interval([0.8]))  # one seed: no interval
    assert not hasattr(plots, "mean_ci")  # the figures' own bootstrap is gone


def stats_mean_sd_ci(values):
    from rnnbench.analysis.stats import mean_sd_ci

    return mean_sd_ci(values)


# --- flagged runs, solved fraction, layout ---------------------------------------------


def _scatter_points(fig, color) -> set[tuple[float, float]]:
    return {
        (float(x), float(y))
        for ax in fig.axes
        for coll in ax.collections
        if len(coll.get_offsets()) and _rgba(coll.get_edgecolors()[0]) == _rgba(color)
        for x, y in np.ma.getdata(coll.get_offsets())
    }


def test_flagged_runs_are_marked_at_their_own_values_not_in_legend_entries(runs, rendered):
    import matplotlib.pyplot as plt

    fig = plots.figure("metric_vs_length", runs, "imdb")
    try:
        # the degenerate rnn/sgd/len120/seed0 run: a red x at its own value (0.5)
        assert (120.0, 0.5) in _scatter_points(fig, plots.FLAG_COLOR)
    finally:
        plt.close(fig)
    for kind in ("learning_curves", "metric_vs_length", "metric_vs_cost"):
        texts = svg_texts(rendered["imdb", kind])
        assert plots.FLAG_LABEL in texts or any("flagged run" in t for t in texts)
        assert not any(t.endswith(" !") for t in texts)  # no "rnn !" legend entries
    assert not any(t.endswith(" !") for t in svg_texts(rendered["gmb", "entity_f1_per_type"]))


def test_memory_metric_vs_length_shows_solved_fraction(rendered):
    texts = svg_texts(rendered["memory", "metric_vs_length"])
    assert "k/n solved (acc >= 0.9)" in texts
    assert "3/3" in texts  # the LSTM at length 20
    assert "0/3" in texts  # the RNN at length 200
    assert "k/n solved" not in joined(rendered["imdb", "metric_vs_length"])


@pytest.mark.parametrize(("dataset", "kind"), CASES)
def test_legend_is_below_the_panels_and_the_figure_fits_the_report(runs, dataset, kind):
    import matplotlib.pyplot as plt

    fig = plots.figure(kind, runs, dataset)
    try:
        renderer = fig.canvas.get_renderer()
        panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
        lowest = min(ax.get_window_extent(renderer).y0 for ax in panels)
        for legend in fig.legends:
            box = legend.get_window_extent(renderer)
            assert box.y1 <= lowest  # under the panels, not beside them
            assert box.width <= fig.bbox.width + 1
        assert not any(ax.get_legend() for ax in fig.axes)
        assert fig.get_size_inches()[0] <= plots.MAX_WIDTH + 0.01
    finally:
        plt.close(fig)
