"""End-to-end: learning-rate tuning in the grid (memory task, tiny sizes)."""

from __future__ import annotations

import csv
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conftest import run_snakemake, write_memory_grid

pytestmark = pytest.mark.slow

HPARAMS = {"epochs": 2, "batch_size": 32, "hidden": 8, "head_hidden": 0}
TUNE_DIR = Path("results/tune/mem/rnn/adam/len12")


def write_config(workdir: Path, lrs: list[float], **grid: Any) -> None:
    write_memory_grid(
        workdir,
        ["rnn"],
        ["adam"],
        seeds=[0],
        samples=(128, 32, 32),
        hparams=HPARAMS,
        tune={"lrs": lrs},
        **grid,
    )


def snakemake(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = run_snakemake(workdir, *args)
    if check and result.returncode != 0:
        pytest.fail(f"snakemake {args} failed:\n{result.stdout}\n{result.stderr}")
    return result


def planned(dry_run: str) -> dict[str, list[str]]:
    """``{rule: [first output of each job]}`` of a dry run."""
    jobs: dict[str, list[str]] = {}
    rule = None
    for line in dry_run.splitlines():
        if match := re.match(r"^(?:local)?rule (\w+):", line.strip()):
            rule = match.group(1)
        elif rule and line.strip().startswith("output:"):
            jobs.setdefault(rule, []).append(line.split("output:")[1].split(",")[0].strip())
            rule = None
    return jobs


def validation_scores(workdir: Path) -> dict[float, float]:
    """Each trial's validation headline metric, read from its own metrics.json."""
    scores = {}
    for path in sorted((workdir / TUNE_DIR).glob("lr*/metrics.json")):
        metrics = json.loads(path.read_text())
        assert metrics["spec"]["seed"] == 1000  # the tuning seed, not a grid seed
        scores[metrics["hparams"]["lr"]] = metrics["validation"][metrics["headline_metric"]]
    return scores


def expected_lr(scores: dict[float, float]) -> float:
    """Highest validation score; exact ties go to the smallest lr."""
    return min(lr for lr, score in scores.items() if score == max(scores.values()))


def test_tuning_selects_on_validation_and_the_grid_trains_at_the_selected_lr(
    tmp_path: Path,
) -> None:
    write_config(tmp_path, [1.0e-3, 3.0e-2])
    snakemake(tmp_path, "--cores", "2")

    scores = validation_scores(tmp_path)
    assert sorted(scores) == [1.0e-3, 3.0e-2]
    selected = json.loads((tmp_path / TUNE_DIR / "selected.json").read_text())
    assert selected["selected_lr"] == expected_lr(scores)
    assert {t["lr"]: t["validation"] for t in selected["trials"]} == scores

    final = tmp_path / "results/runs/mem/rnn/adam/len12/seed0/metrics.json"
    metrics = json.loads(final.read_text())
    assert metrics["hparams"]["lr"] == selected["selected_lr"]
    assert metrics["lr_tuning"]["selected_lr"] == selected["selected_lr"]
    with open(tmp_path / "results/summary/runs.csv", newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert float(row["hp_lr"]) == selected["selected_lr"]
    assert row["lr_tuned"] == "True"
    comparison = (tmp_path / "results/summary/mem/comparison.csv").read_text()
    assert comparison.startswith("arch,tuned_lr,")
    figure = tmp_path / "results/summary/mem/plots/lr_sensitivity.svg"
    assert figure.read_text().lstrip().startswith("<?xml")
    assert "learning rate" in figure.read_text()

    assert "Nothing to be done" in snakemake(tmp_path, "-n").stdout
    report = tmp_path / "report.html"
    snakemake(tmp_path, "--report", str(report))
    assert "lr_sensitivity.svg" in report.read_text()

    # A new candidate: only its trial is new; the old trials keep their params and files.
    old_trials = {p: p.stat().st_mtime_ns for p in (tmp_path / TUNE_DIR).glob("lr*/metrics.json")}
    write_config(tmp_path, [1.0e-3, 3.0e-2, 3.0e-3])
    jobs = planned(snakemake(tmp_path, "-n").stdout)
    assert jobs["tune_trial"] == [f"{TUNE_DIR}/lr0.003/metrics.json"]
    assert jobs["tune_select"] == [f"{TUNE_DIR}/selected.json"]
    # Without a checkpoint Snakemake cannot know the new selection before the trial has
    # run, so the tuned cell's seeds are planned again whether or not the lr changes.
    assert jobs["train"] == ["results/runs/mem/rnn/adam/len12/seed0/metrics.json"]
    snakemake(tmp_path, "--cores", "2")
    assert {p: p.stat().st_mtime_ns for p in old_trials} == old_trials, "an old trial was rerun"
    scores = validation_scores(tmp_path)
    assert sorted(scores) == [1.0e-3, 3.0e-3, 3.0e-2]
    selected = json.loads((tmp_path / TUNE_DIR / "selected.json").read_text())
    assert selected["selected_lr"] == expected_lr(scores)
    assert json.loads(final.read_text())["hparams"]["lr"] == selected["selected_lr"]


@pytest.mark.fault
def test_a_bad_tune_value_fails_at_dry_run_naming_the_key(tmp_path: Path) -> None:
    write_config(tmp_path, [1.0e-3, -1.0e-2])
    result = snakemake(tmp_path, "-n", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "datasets.mem.grid.tune.lrs.1" in output, output
    assert "Job stats" not in output
