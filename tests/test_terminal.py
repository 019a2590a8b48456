"""The terminal's answer after a run, and the message of `snakemake --report` when the
experiment's results are missing (rnnbench.terminal, rnnbench.report_check)."""

from __future__ import annotations

from pathlib import Path

import yaml

from conftest import write_memory_grid
from rnnbench.report_check import Experiment, experiments_on_disk, missing_message
from rnnbench.terminal import answer_lines, headline, plain, report_command

SUMMARY = """# Summary: the answer first

## imdb

- Best cell: **gru**, test accuracy 0.80 ± 0.01 (3 seeds). [comparison table](imdb/comparison.html)
- Sequence length: one value in this grid (200), so no effect to report.
- Optimizer: one value in this grid (adam), so no effect to report.
- No run is flagged (9 runs checked); see the [comparison table](imdb/comparison.html).

## memory

- Best cell: **lstm**, test accuracy 0.99 ± 0.01 (3 seeds). [comparison table](memory/comparison.html)
- Seeds that solve each length: length 25: lstm 3/3, rnn 2/3. [metric vs length](memory/plots/metric_vs_length.svg)
"""


def test_a_statement_loses_its_reference_links_and_bold_marks():
    assert plain("Best: **gru**, 0.8. [comparison table](a.html) [figure](b.svg)") == (
        "Best: gru, 0.8."
    )
    assert plain("see the [comparison table](a.html).") == "see the comparison table."


def test_the_headline_shows_every_dataset_before_a_second_statement_of_any():
    lines, left_out = headline(SUMMARY, limit=5)
    assert lines == [
        "imdb:",
        "  - Best cell: gru, test accuracy 0.80 ± 0.01 (3 seeds).",
        "  - Sequence length: one value in this grid (200), so no effect to report.",
        "memory:",
        "  - Best cell: lstm, test accuracy 0.99 ± 0.01 (3 seeds).",
    ]
    assert left_out == 3


def test_the_headline_fits_its_line_budget_and_keeps_the_order_within_a_dataset():
    for limit in range(3, 14):
        lines, left_out = headline(SUMMARY, limit=limit, width=40)
        assert len(lines) <= limit
        shown = [line for line in lines if line.startswith("  - ")]
        assert len(shown) + left_out == 6
    lines, left_out = headline(SUMMARY, limit=25)
    assert left_out == 0 and len(lines) == 8


def test_the_answer_names_the_summary_the_tables_and_the_report_command(tmp_path):
    summary = tmp_path / "results/summary/summary.md"
    summary.parent.mkdir(parents=True)
    summary.write_text(SUMMARY, encoding="utf-8")
    tables = ["results/summary/imdb/comparison.html", "results/summary/memory/comparison.html"]
    report = report_command(["presets/quick.yaml"])
    lines = answer_lines(summary, tables, report, tmp_path)
    assert lines[1] == "rnnbench: the answer (results/summary/summary.md)"
    assert "Summary: results/summary/summary.md" in lines
    assert "Comparison tables: " + ", ".join(tables) in lines
    assert lines[-1] == (
        "HTML report: snakemake --configfile presets/quick.yaml --report reports/report.html"
        "   (or: make report)"
    )
    lines = answer_lines(summary, tables, report, tmp_path, ["results/export/mlflow"])
    assert lines[-1] == (
        "MLflow export: results/export/mlflow   "
        "(open: mlflow ui --backend-store-uri sqlite:///results/export/mlflow/mlflow.db)"
    )


def test_the_report_command_repeats_the_experiments_config():
    assert report_command([]) == "snakemake --report reports/report.html"
    assert report_command(["a.yaml", "b.yaml"], ["threads=2"]) == (
        "snakemake --configfile a.yaml b.yaml --config threads=2 --report reports/report.html"
    )
    assert report_command(["presets/quick.yaml"], targets=["summarize_all"]).endswith(
        "summarize_all"
    )


def test_the_default_experiment_not_run_points_at_the_experiment_on_disk():
    message = missing_message(
        [],
        [],
        cells=4,
        missing=[
            ("train", f"results/runs/imdb/gru/adam/len200/seed{i}/metrics.json") for i in range(4)
        ]
        + [("aggregate", "results/summary/runs.csv")],
        on_disk=[Experiment(("presets/quick.yaml",), 27, 27)],
    )
    assert message.splitlines() == [
        "snakemake --report: the default experiment (config.yaml) has not run here: 4 of 4 "
        "training cells have no results (e.g. results/runs/imdb/gru/adam/len200/seed0), so its "
        "report cannot be built.",
        "Make its results with:",
        "  snakemake --cores all",
        "then build its report with:",
        "  snakemake --report reports/report.html",
        "Results on disk here, with the command that builds their report:",
        "  presets/quick.yaml: 27 of 27 cells done",
        "    snakemake --configfile presets/quick.yaml --report reports/report.html"
        "   (or: make report)",
    ]


def test_a_preset_partly_run_names_its_missing_cells_and_the_command_that_makes_them():
    message = missing_message(
        ["presets/kovac2023.yaml"],
        [],
        cells=6,
        missing=[("train", "results/runs/gmb/lstm/adam/len104/seed2/metrics.json")],
        on_disk=[],
    )
    assert "presets/kovac2023.yaml has not finished here: 1 of 6 training cells" in message
    assert "  snakemake --cores all --configfile presets/kovac2023.yaml\n" in message
    assert "make run" not in message  # some of it has run


def test_cells_holding_another_experiments_results_count_as_not_run():
    missing = [
        ("train", f"results/runs/imdb/cnn/adam/len120/seed{i}/metrics.json") for i in range(17)
    ]
    message = missing_message([], [], 21, missing, [], other_settings=4)
    assert message.startswith(
        "snakemake --report: the default experiment (config.yaml) has not run here: 21 of 21 "
        "training cells have no results of its own (e.g. results/runs/imdb/cnn/adam/len120/seed0; "
        "4 hold results made with other settings or code, which Snakemake would rerun)"
    )


def test_sized_and_fold_cells_count_as_training_cells():
    missing = [("train_sized", "results/runs/memory/rnn/adam/len50/n1000/seed0/metrics.json")]
    missing += [("train_fold", "results/runs/rt/lstm/adam/len50/fold1/seed0/metrics.json")]
    message = missing_message(["presets/quick.yaml"], [], 10, missing, [])
    assert "has not finished here: 2 of 10 training cells have no results" in message


def test_nothing_run_anywhere_points_at_the_main_job():
    message = missing_message([], [], 2, [("train", "results/runs/a/metrics.json")] * 2, [])
    assert message.endswith("make run")


def test_experiments_on_disk_counts_each_presets_cells(tmp_path: Path):
    write_memory_grid(tmp_path, ["rnn", "lstm"], ["adam"], seeds=[0, 1])
    presets = tmp_path / "presets"
    presets.mkdir()
    overlay = {"datasets": {"mem": {"grid": {"archs": ["rnn"]}}}}
    (presets / "small.yaml").write_text(yaml.safe_dump(overlay))
    (presets / "other.yaml").write_text(
        yaml.safe_dump({"datasets": {"mem": {"grid": {"seeds": [7]}}}})
    )
    for seed in (0, 1):
        cell = tmp_path / f"results/runs/mem/rnn/adam/len12/seed{seed}"
        cell.mkdir(parents=True)
        (cell / "metrics.json").write_text("{}")
    found = experiments_on_disk(tmp_path, presets, current=[])
    assert found == [Experiment(("presets/small.yaml",), 2, 2)]
    found = experiments_on_disk(tmp_path, presets, current=["presets/small.yaml"])
    assert found == [Experiment((), 2, 4)]
