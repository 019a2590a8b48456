""".ci/compare_runs.py (the Slurm proof's and bench/runs_equality.py's comparison) keys
runs.csv rows by every grid dimension runs.csv has, the optional ones included."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / ".ci"))

import compare_runs  # .ci/, put on sys.path above

COLUMNS = ["dataset", "arch", "optimizer", "length", "train_size", "seed", "test_accuracy"]


def write_runs(path: Path, rows: list[list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    return path


def test_rows_that_differ_only_in_train_size_are_two_cells(tmp_path: Path) -> None:
    rows = [
        ["mem", "rnn", "adam", "50", "1000", "0", "0.9"],
        ["mem", "rnn", "adam", "50", "4000", "0", "0.5"],
        ["imdb", "gru", "adam", "200", "", "0", "0.8"],
    ]
    ref = write_runs(tmp_path / "a.csv", rows)
    _, keyed = compare_runs.read_runs(ref)
    assert len(keyed) == 3

    changed = [*rows[:1], ["mem", "rnn", "adam", "50", "4000", "0", "0.6"], rows[2]]
    other = write_runs(tmp_path / "b.csv", changed)
    problems: list[str] = []
    compare_runs.compare_runs_csv(ref, other, problems)
    assert problems == ["runs.csv mem/rnn/adam/50/4000/0: test_accuracy = '0.5' vs '0.6'"]


def test_identical_runs_have_no_difference(tmp_path: Path) -> None:
    rows = [["mem", "lstm", "adam", "100", "20000", "2", "0.5"]]
    problems: list[str] = []
    values = compare_runs.compare_runs_csv(
        write_runs(tmp_path / "a.csv", rows), write_runs(tmp_path / "b.csv", rows), problems
    )
    assert problems == [] and values == len(COLUMNS)
