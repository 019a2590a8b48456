"""The budget behind each answer: rankings across training-set sizes (crossings), the
memory task's solved fraction per size, the size figure, and bidirectional models marked
as reading the memory task's signal within a few steps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from rnnbench.analysis import budget, stats
from rnnbench.analysis.collect import collect_runs
from rnnbench.analysis.compare import comparison_table
from rnnbench.analysis.compare_page import display_frame
from rnnbench.analysis.plots import kinds_for, plot
from rnnbench.analysis.summary import build_summary, render_markdown
from test_analysis_helpers import make_metrics


def _write(root: Path, metrics: dict[str, Any]) -> Path:
    spec = metrics["spec"]
    size = f"n{spec['train_size']}" if spec.get("train_size") is not None else "whole"
    run_dir = root / spec["dataset"] / spec["arch"] / f"len{spec['length']}" / size
    run_dir = run_dir / f"seed{spec['seed']}"
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "metrics.json"
    path.write_text(json.dumps(metrics), encoding="utf-8")
    return path


def _grid(
    root: Path,
    outcomes: dict[tuple[str, int, int | None], list[float]],
    *,
    task: str = "memory",
    signal_index: int | None = 5,
) -> pd.DataFrame:
    paths = []
    for (arch, length, size), scores in outcomes.items():
        for seed, accuracy in enumerate(scores):
            metrics = make_metrics(
                task=task,
                dataset="mem" if task == "memory" else "imdb",
                arch=arch,
                length=length,
                seed=seed,
                accuracy=accuracy,
            )
            if size is not None:
                metrics["spec"]["train_size"] = size
            if task == "memory" and signal_index is not None:
                metrics["signal_index"] = signal_index
            paths.append(_write(root, metrics))
    return collect_runs(paths)


# The measured turn-around: at 4,000 sequences the RNN solves length 50 and the
# LSTM does not; at 20,000 it is the other way round.
CROSSING = {
    ("rnn", 50, 4000): [1.0, 1.0, 0.99],
    ("lstm", 50, 4000): [0.52, 0.5, 0.51],
    ("rnn", 50, 20000): [0.52, 0.55, 0.5],
    ("lstm", 50, 20000): [1.0, 0.97, 0.5],
}


def test_crossing_is_stated_with_its_seeds_and_test(tmp_path: Path) -> None:
    runs = _grid(tmp_path, CROSSING)
    assert runs.columns.tolist().index("train_size") == runs.columns.tolist().index("length") + 1
    (statement,) = budget.crossing_statements(runs, "mem")
    # Fisher's exact test, two-sided: [[2, 1], [0, 3]] gives 0.4, [[3, 0], [0, 3]] 0.1.
    assert statement == (
        "lstm overtakes rnn at length 50 from 20,000 sequences (lstm 2/3 vs rnn 0/3 solved "
        "at 20,000 sequences; Fisher p = 0.400); below that rnn is ahead (rnn 3/3 vs lstm "
        "0/3 solved at 4,000 sequences; Fisher p = 0.100)"
    )
    md = render_markdown(build_summary(runs, ["mem"]))
    assert "Rankings across training-set sizes: lstm overtakes rnn at length 50" in md
    assert "with 4,000 training sequences: rnn is ahead at length 50" in md
    assert "with 20,000 training sequences: lstm is ahead at length 50" in md
    assert "(plots/metric_vs_train_size.svg)" in md.replace("mem/plots", "plots")
    assert "lstm at length 50: 20,000 sequences; rnn at length 50: 4,000 sequences" in md


def test_no_crossing_when_one_arch_leads_at_every_size(tmp_path: Path) -> None:
    outcomes = {
        ("rnn", 50, 1000): [0.5, 0.5, 0.5],
        ("lstm", 50, 1000): [0.5, 0.5, 0.5],  # a tie: nobody leads, so no turn-around
        ("rnn", 50, 4000): [1.0, 1.0, 0.99],
        ("lstm", 50, 4000): [0.52, 0.5, 0.51],
        ("rnn", 50, 20000): [1.0, 1.0, 1.0],
        ("lstm", 50, 20000): [1.0, 0.5, 0.5],
    }
    runs = _grid(tmp_path, outcomes)
    (statement,) = budget.crossing_statements(runs, "mem")
    assert statement.startswith("no crossing within this grid")
    assert "sizes 1,000, 4,000, 20,000; leading: solves more seeds" in statement


def test_sentiment_crossing_needs_a_significant_welch_test(tmp_path: Path) -> None:
    outcomes = {
        ("cnn", 120, 1000): [0.80, 0.81, 0.80],
        ("lstm", 120, 1000): [0.70, 0.71, 0.70],
        ("cnn", 120, 20000): [0.84, 0.85, 0.84],
        ("lstm", 120, 20000): [0.88, 0.89, 0.88],
    }
    (statement,) = budget.crossing_statements(_grid(tmp_path, outcomes, task="sentiment"), "imdb")
    assert statement.startswith("lstm overtakes cnn at length 120 from 20,000 sequences")
    assert "below that cnn is ahead (cnn 0.803 (3 seeds) vs lstm 0.703 (3 seeds)" in statement
    assert "Welch p" in statement
    # the same means with overlapping seeds: no significant leader, no crossing
    noisy = {
        ("cnn", 120, 1000): [0.60, 0.95, 0.85],
        ("lstm", 120, 1000): [0.65, 0.90, 0.75],
        ("cnn", 120, 20000): [0.70, 0.95, 0.84],
        ("lstm", 120, 20000): [0.75, 0.99, 0.88],
    }
    (none,) = budget.crossing_statements(_grid(tmp_path / "noisy", noisy, task="sentiment"), "imdb")
    assert none.startswith("no crossing within this grid")


def test_solved_fraction_per_size_and_smallest_solving_size(tmp_path: Path) -> None:
    outcomes = {**CROSSING, ("rnn", 100, 4000): [0.5] * 3, ("rnn", 100, 20000): [0.5] * 3}
    frame = budget.solved_by_size(_grid(tmp_path, outcomes), "mem")
    rows = {(r["arch"], r["length"]): r for r in frame.to_dict("records")}
    assert list(frame.columns) == [
        "arch", "length", "4,000", "20,000", "smallest size solving", "note"
    ]  # fmt: skip
    assert rows[("lstm", 50)]["4,000"] == "0/3" and rows[("lstm", 50)]["20,000"] == "2/3"
    assert rows[("lstm", 50)]["smallest size solving"] == "20,000"
    assert rows[("rnn", 50)]["smallest size solving"] == "4,000"
    assert rows[("rnn", 100)]["smallest size solving"] == "not solved"
    html = tmp_path / "s.html"
    budget.write_solved_by_size(_grid(tmp_path, outcomes), "mem", tmp_path / "s.csv", html)
    assert "smallest size solving" in html.read_text() and (tmp_path / "s.csv").exists()


def test_size_figure_has_log_x_one_panel_per_length(tmp_path: Path) -> None:
    outcomes = {**CROSSING, ("rnn", 100, 4000): [0.5] * 3, ("rnn", 100, 20000): [0.5] * 3}
    runs = _grid(tmp_path, outcomes)
    assert "metric_vs_train_size" in kinds_for(runs, "mem")
    out = tmp_path / "size.svg"
    plot("metric_vs_train_size", runs, "mem", out)
    svg = out.read_text()
    assert "training sequences (log scale)" in svg
    assert "length 50" in svg and "length 100" in svg and "2/3" in svg
    assert "no data" not in svg
    # a grid without train_sizes has no size figure
    whole = _grid(tmp_path / "w", {("rnn", 50, None): [1.0, 1.0], ("lstm", 50, None): [0.5] * 2})
    assert "train_size" not in whole.columns
    assert "metric_vs_train_size" not in kinds_for(whole, "mem")


@pytest.mark.parametrize(("index", "length", "expected"), [(5, 100, 5), (90, 100, 9), (5, 8, 2)])
def test_dependency_steps_of_a_bidirectional_model(index: int, length: int, expected: int) -> None:
    assert stats.dependency_steps("bilstm", length, index) == expected
    assert stats.dependency_steps("lstm", length, index) == length - 1 - index
    assert stats.dependency_steps("bilstm", length, None) is None


def test_bidirectional_memory_cell_is_marked_everywhere(tmp_path: Path) -> None:
    outcomes = {
        ("bilstm", 100, None): [1.0, 1.0, 1.0],
        ("lstm", 100, None): [0.5, 0.51, 0.5],
        ("rnn", 100, None): [0.5, 0.5, 0.93],
    }
    runs = _grid(tmp_path, outcomes)
    table = comparison_table(runs, "mem")
    cells = table.set_index("arch")
    assert cells.loc["bilstm", "dependency_steps"] == 5
    assert cells.loc["bilstm", "reach"] == "bidirectional: reads the signal within 5 steps"
    assert cells.loc["lstm", "dependency_steps"] == 94 and cells.loc["lstm", "reach"] == ""
    frame, _ = display_frame(table)
    shown = dict(zip(frame["arch"], frame["dependency"], strict=True))
    assert shown["bilstm"] == "5 steps (\u21c4 bidirectional: reads the signal within 5 steps)"
    assert shown["lstm"] == "94 steps"

    md = render_markdown(build_summary(runs, ["mem"]))
    assert "bilstm 3/3 (\u21c4)" in md
    assert "bilstm is bidirectional: it reads the signal within 5 steps of an end" in md
    assert "not counted as solving a long one" in md
    # never counted: the verdict is between the one-direction models only
    assert "rnn is ahead at length 100; lstm is ahead at no length" in md
    assert "bilstm is ahead" not in md

    out = tmp_path / "len.svg"
    plot("metric_vs_length", runs, "mem", out)
    assert "bidirectional: reads the signal within 5 steps" in out.read_text()
    assert "Best cell: **bilstm (\u21c4 bidirectional: reads the signal within 5 steps)**" in md
    heat = tmp_path / "heat.svg"
    plot("heatmap", runs, "mem", heat)
    assert "bilstm \u21c4" in heat.read_text()
    assert "bilstm \u21c4 bidirectional: reads the signal within 5 steps" in heat.read_text()


def test_summary_compares_the_best_model_with_the_baseline_at_its_length(tmp_path: Path) -> None:
    """The issue's seed-A figures: the whole-review bag of words (0.859) is above every
    model, the one on the models' 120 tokens (0.795) below; the summary says both."""
    runs = _grid(tmp_path, {("lstm", 120, None): [0.81, 0.815, 0.819]}, task="sentiment")

    def group(length: int, bow: float) -> dict[str, Any]:
        return {
            "length": length, "train_subsample": None, "eval_subsample": None, "seeds": [0],
            "evaluated_on": "test, whole split",
            "baselines": {
                "bow-logreg": {"test": {"accuracy": bow}, "reads": "the models' tokens"},
                "bow-logreg (whole documents)": {"test": {"accuracy": 0.859}},
            },
        }  # fmt: skip

    baselines = {"headline_metric": "accuracy", "groups": [group(120, 0.795), group(200, 0.825)]}
    md = render_markdown(build_summary(runs, ["imdb"], {"imdb": baselines}))
    assert (
        "At its length (120 tokens) the bag of words on the same tokens (bow-logreg) scores "
        "0.795: the best cell is 0.020 above it. The whole-document bow-logreg, which reads "
        "beyond the models' 120 tokens, scores 0.859, 0.064 above the same-length one." in md
    )
    assert "Best baseline" not in md
    table = comparison_table(runs, "imdb", baselines)
    shown = table[table["kind"] == "baseline"]["arch"].tolist()
    assert shown.count("baseline: bow-logreg (whole documents)") == 1


def test_published_rows_say_at_which_size_a_number_holds(tmp_path: Path) -> None:
    """Seed B publishes no sample count: each size gets its own row and verdict, and the
    summary says at which sizes, if any, the published number holds."""
    outcomes = {
        ("lstm", 100, 4000): [0.5, 0.51, 0.5],
        ("lstm", 100, 20000): [0.95, 0.94, 0.945],
        ("rnn", 100, 4000): [0.51, 0.512, 0.514],
        ("rnn", 100, 20000): [0.511, 0.512, 0.513],
    }
    runs = _grid(tmp_path, outcomes)
    published = [
        {"source": "Seed B", "dataset": "mem", "arch": arch, "optimizer": "adam",
         "length": 100, "metric": "accuracy", "value": value}
        for arch, value in (("lstm", 0.945), ("rnn", 0.512))
    ]  # fmt: skip
    from rnnbench.analysis.published import published_vs_measured
    from rnnbench.analysis.published_page import display_frame

    table = published_vs_measured(runs, published)
    assert table["train_size"].tolist() == [4000, 20000, 4000, 20000]
    assert table["verdict"].tolist() == ["not reproduced", "reproduced"] + ["reproduced"] * 2
    cells = display_frame(table)["cell"].tolist()
    assert cells[1] == "mem · lstm · adam · len 100 · 20,000 training sequences"
    md = render_markdown(build_summary(runs, ["mem"], published=published))
    assert "mem lstm/adam/len 100, 20,000 training sequences, test accuracy: published" in md
    assert "Seed B: mem lstm/len 100 (accuracy) holds at 20,000 training sequences." in md
    assert "Seed B: mem rnn/len 100 (accuracy) holds at 4,000, 20,000 training sequences." in md
    # without sizes the table keeps its columns
    plain = _grid(tmp_path / "p", {("lstm", 100, None): [0.94, 0.95, 0.945]})
    assert "train_size" not in published_vs_measured(plain, published[:1]).columns


def test_a_size_read_back_as_a_float_is_written_as_a_whole_number():
    # runs.csv reads train_size as floats where a row has no size (NaN)
    assert budget.size_text(1000.0) == "1,000"
    assert budget.size_text(float("nan")) == budget.size_text(None) == budget.WHOLE_SPLIT
