"""The optimizer question: the summary ranks the optimizers per architecture at their tuned
lrs (test against the best, seed counts), says how tuning changed a fixed-lr ranking, and
marks a tuned lr at the edge of its candidates in the table and the summary."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from rnnbench.analysis.collect import collect_runs, lr_edge, read_runs_csv, write_runs_csv
from rnnbench.analysis.compare import comparison_table
from rnnbench.analysis.compare_page import display_frame
from rnnbench.analysis.summary import build_summary, render_markdown
from test_analysis_helpers import make_metrics, write_run

# gru x 4 optimizers, each tuned on its own candidates (same budget: 2 trials each), 3 seeds.
TUNED = {
    # optimizer: (candidates, selected, test accuracy per seed)
    "sgd": ([0.03, 0.1], 0.1, [0.70, 0.72, 0.71]),  # at the highest candidate: the edge
    "nag": ([0.003, 0.01], 0.01, [0.80, 0.81, 0.79]),
    "rmsprop": ([3e-4, 1e-3, 3e-3], 1e-3, [0.84, 0.86, 0.85]),
    "adam": ([3e-4, 1e-3, 3e-3], 1e-3, [0.85, 0.86, 0.87]),
}
# The same cells at fixed lrs (a fixed-lr block): NAG ahead of Adam there.
FIXED = {"nag": (0.01, [0.80, 0.81, 0.82]), "adam": (0.1, [0.60, 0.55, 0.58])}


def _runs(root: Path) -> list[Path]:
    paths = []
    for optimizer, (candidates, selected, scores) in TUNED.items():
        for seed, acc in enumerate(scores):
            metrics = make_metrics(
                arch="gru", optimizer=optimizer, seed=seed, accuracy=acc, hparams={"lr": selected}
            )
            metrics["lr_tuning"] = {"selected_lr": selected, "candidates": candidates}
            paths.append(write_run(root / "tuned", metrics))
    for optimizer, (lr, scores) in FIXED.items():
        for seed, acc in enumerate(scores):
            metrics = make_metrics(
                arch="gru", optimizer=optimizer, seed=seed, accuracy=acc, hparams={"lr": lr}
            )
            paths.append(write_run(root / "fixed", metrics))
    for seed, acc in enumerate([0.83, 0.84, 0.85]):  # another arch, Adam only: no ranking
        paths.append(write_run(root / "cnn", make_metrics(arch="cnn", seed=seed, accuracy=acc)))
    return paths


@pytest.fixture
def runs(tmp_path: Path) -> pd.DataFrame:
    write_runs_csv(_runs(tmp_path), tmp_path / "runs.csv")
    return read_runs_csv(tmp_path / "runs.csv")


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (None, ("", "")),
        ({"selected_lr": 0.1, "candidates": [0.1, 0.03]}, ("highest", "0.03 0.1")),
        ({"selected_lr": 0.03, "candidates": [0.03, 0.1]}, ("lowest", "0.03 0.1")),
        ({"selected_lr": 0.01, "candidates": [0.003, 0.01, 0.03]}, ("", "0.003 0.01 0.03")),
        ({"selected_lr": 0.01, "candidates": [0.01]}, ("", "0.01")),
    ],
)
def test_lr_edge_is_the_lowest_or_highest_of_two_or_more_candidates(record, expected) -> None:
    assert lr_edge(record) == expected


def test_the_edge_is_marked_in_the_table_its_notes_and_the_summary(runs: pd.DataFrame) -> None:
    table = comparison_table(runs, "imdb")
    tuned = table[table["tuned_lr"].notna()].set_index("optimizer")
    assert tuned.loc["sgd", "lr_edge"] == "highest"
    assert tuned.loc["sgd", "lr_candidates"] == "0.03 0.1"
    assert tuned.loc["nag", "lr_edge"] == "highest"
    assert tuned.loc["adam", "lr_edge"] == "" and tuned.loc["rmsprop", "lr_edge"] == ""
    frame, _ = display_frame(table)
    marks = dict(
        zip(frame["optimizer"] + "/" + frame["tuned_lr"], frame["lr at edge"], strict=True)
    )
    assert marks["sgd/1e-1"] == "\u26a0 highest of 0.03, 0.1: widen the range"
    assert marks["adam/1e-3"] == ""
    note = next(n for n in table.attrs["notes"] if "edge" in n)
    assert "gru/sgd lr 1e-1 (highest of 0.03, 0.1)" in note
    assert "gru/nag lr 1e-2 (highest of 0.003, 0.01)" in note and "adam" not in note

    md = render_markdown(build_summary(runs, ["imdb"]))
    assert "Tuned lr at the edge of its candidates: widen the range: gru/nag lr 1e-2" in md
    assert "gru/sgd lr 1e-1 (highest of 0.03, 0.1). [comparison table]" in md


def test_the_summary_ranks_the_optimizers_at_their_tuned_lrs(runs: pd.DataFrame) -> None:
    md = render_markdown(build_summary(runs, ["imdb"]))
    line = next(line for line in md.splitlines() if line.startswith("- Optimizer"))
    ranking = line.split("gru, each at its tuned lr: ")[1]
    # Best first, each with its seeds and lr; the others tested against the best.
    assert ranking.startswith("**adam** 0.860 ± 0.025 (3 seeds, lr 1e-3; best)")
    tuned_part = ranking.split(". At fixed")[0]
    positions = [tuned_part.index(f"{name} 0.") for name in ("rmsprop", "nag", "sgd")]
    assert positions == sorted(positions)
    assert (
        "rmsprop 0.850 ± 0.025 (3 seeds, lr 1e-3; vs adam: Welch p = 0.288, not significant)"
        in line
    )
    assert "sgd 0.710 ± 0.025 (3 seeds, lr 1e-1; vs adam: Welch p < 0.001, significant)" in line
    # The fixed-lr block of the same cells: its ranking beside the tuned one.
    assert "At fixed lrs: nag > adam; tuned: adam > nag (tuning changes the order)" in line
    assert "cnn" not in line  # one optimizer only: nothing to rank
    assert "[lr sensitivity](imdb/plots/lr_sensitivity.svg)" in line


def test_without_tuning_the_ranking_says_it_is_at_fixed_lrs(tmp_path: Path) -> None:
    paths = []
    for optimizer, (lr, scores) in FIXED.items():
        for seed, acc in enumerate(scores):
            metrics = make_metrics(
                arch="gru", optimizer=optimizer, seed=seed, accuracy=acc, hparams={"lr": lr}
            )
            paths.append(write_run(tmp_path, metrics))
    md = render_markdown(build_summary(collect_runs(paths), ["imdb"]))
    assert "gru, at fixed lrs (not tuned): **nag** 0.810" in md
    assert "lr sensitivity" not in md and "edge" not in md


def _selection(arch: str, optimizer: str, candidates: list[float], selected: float) -> dict:
    trials = [{"lr": lr, "validation": 0.8 - abs(lr - selected)} for lr in candidates]
    return {
        "dataset": "imdb",
        "arch": arch,
        "optimizer": optimizer,
        "length": 200,
        "selected_lr": selected,
        "selected_validation": 0.8,
        "at_edge": selected in (candidates[0], candidates[-1]),
        "trials": trials,
        "metric": "validation accuracy",
        "tuning_seed": 1000,
        "rule": "highest validation accuracy",
    }


def test_the_lr_figure_draws_one_line_per_optimizer_per_architecture() -> None:
    import matplotlib.pyplot as plt

    from rnnbench.analysis.lr_figure import draw

    selections = [
        _selection("gru", name, candidates, selected)
        for name, (candidates, selected, _) in TUNED.items()
    ] + [_selection("cnn", "adam", [1e-3, 3e-3], 1e-3)]
    fig = draw(selections, "imdb")
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["gru, length 200", "cnn, length 200"]
    gru = fig.axes[0]
    labelled = [
        line.get_label() for line in gru.get_lines() if not line.get_label().startswith("_")
    ]
    assert labelled == ["sgd", "nag", "rmsprop", "adam"]  # one line per optimizer
    colors = {line.get_label(): line.get_color() for line in fig.axes[1].get_lines()}
    assert (
        colors["adam"] == {line.get_label(): line.get_color() for line in gru.get_lines()}["adam"]
    )
    rings = [line.get_marker() for line in gru.get_lines() if line.get_label().startswith("_")]
    assert rings.count("s") == 2  # sgd and nag at the edge of their candidates: squares
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "selected lr at the edge of its candidates" in legend
    plt.close(fig)
