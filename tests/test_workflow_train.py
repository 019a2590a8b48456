"""End-to-end: the training grid as Snakemake jobs (memory task: no data files needed)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import run_snakemake, write_memory_grid
from rnnbench.train.report import NONDETERMINISTIC_KEYS

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def write_config(workdir: Path, archs: list[str], optimizers: list[str], **grid: Any) -> None:
    # 3 epochs (not the default 2) so that early stopping and history rows are exercised.
    hparams = {"epochs": 3, "batch_size": 32, "hidden": 8, "head_hidden": 0}
    write_memory_grid(workdir, archs, optimizers, **{"hparams": hparams, **grid})


def snakemake(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = run_snakemake(workdir, *args)
    if check and result.returncode != 0:
        pytest.fail(f"snakemake {args} failed:\n{result.stdout}\n{result.stderr}")
    return result


def run_dir(workdir: Path, arch: str, optimizer: str) -> Path:
    return workdir / "results" / "runs" / "mem" / arch / optimizer / "len12" / "seed0"


def comparable(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if k not in NONDETERMINISTIC_KEYS}


def test_grid_trains_every_cell_and_reruns_only_the_edited_optimizer(tmp_path: Path) -> None:
    write_config(tmp_path, ["rnn", "lstm"], ["adam", "sgd"])
    snakemake(tmp_path, "--cores", "2")
    for arch in ("rnn", "lstm"):
        for optimizer in ("adam", "sgd"):
            cell = run_dir(tmp_path, arch, optimizer)
            metrics = json.loads((cell / "metrics.json").read_text())
            assert metrics["status"] == "ok"
            assert metrics["spec"] == {
                "dataset": "mem",
                "arch": arch,
                "optimizer": optimizer,
                "length": 12,
                "seed": 0,
            }
            assert (cell / "history.csv").read_text().count("\n") == 1 + metrics["epochs_run"]
            assert (cell / "model.pt").stat().st_size > 0
            assert not (cell / "checkpoint.pt").exists()
            log = tmp_path / "logs/train/mem" / arch / optimizer / "len12/seed0.log"
            assert "epoch 1/3" in log.read_text()
            assert (
                tmp_path / "benchmarks/train/mem" / arch / optimizer / "len12/seed0.tsv"
            ).exists()

    runs = (tmp_path / "results/summary/runs.csv").read_text().splitlines()
    assert len(runs) == 1 + 4 and runs[0].startswith("dataset,task,arch,optimizer,length,seed")
    summary = tmp_path / "results/summary/mem"
    assert "<table" in (summary / "comparison.html").read_text()
    assert "baseline: majority" in (summary / "comparison.csv").read_text()
    for kind in ("heatmap", "learning_curves", "metric_vs_length", "metric_vs_cost"):
        assert (summary / "plots" / f"{kind}.svg").read_text().lstrip().startswith("<?xml")
    assert "Data card: mem" in (summary / "datacard.html").read_text()
    assert not (summary / "plots/entity_f1_per_type.svg").exists()  # NER only

    assert "Nothing to be done" in snakemake(tmp_path, "-n").stdout

    report = tmp_path / "report.html"
    snakemake(tmp_path, "--report", str(report))
    html = report.read_text()
    for name in ("comparison.html", "heatmap.svg", "runs.csv", "datacard.html"):
        assert name in html, f"{name} missing from the report"

    write_config(tmp_path, ["rnn", "lstm"], ["adam", "sgd"], per_optimizer={"sgd": {"lr": 0.05}})
    dry = snakemake(tmp_path, "-n").stdout
    rerun = sorted(
        line.split("results/runs/")[1].split("/metrics.json")[0]
        for line in dry.splitlines()
        if "output:" in line and "metrics.json" in line
    )
    assert rerun == ["mem/lstm/sgd/len12/seed0", "mem/rnn/sgd/len12/seed0"]


@pytest.mark.fault
def test_killed_training_job_resumes_to_the_same_metrics(tmp_path: Path) -> None:
    reference, interrupted = tmp_path / "reference", tmp_path / "interrupted"
    for workdir in (reference, interrupted):
        workdir.mkdir()
        write_config(
            workdir,
            ["lstm"],
            ["adam"],
            hparams={
                "epochs": 15,
                "batch_size": 8,
                "hidden": 16,
                "head_hidden": 0,
                "patience": 15,
            },
        )
    snakemake(reference, "--cores", "1")

    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(REPO / "Snakefile"),
        "-d",
        str(interrupted),
        "--cores",
        "1",
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    checkpoint = run_dir(interrupted, "lstm", "adam") / "checkpoint.pt"
    deadline = time.monotonic() + 300
    while not checkpoint.exists():
        assert proc.poll() is None, "snakemake finished before the first checkpoint was seen"
        assert time.monotonic() < deadline, "no checkpoint within 300 s"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the whole job, as a node failure would
    proc.wait()
    assert not (run_dir(interrupted, "lstm", "adam") / "metrics.json").exists()

    # What a user does after a crash: release Snakemake's lock, rerun the incomplete job.
    snakemake(interrupted, "--unlock")
    snakemake(interrupted, "--cores", "1", "--rerun-incomplete")
    resumed = json.loads((run_dir(interrupted, "lstm", "adam") / "metrics.json").read_text())
    complete = json.loads((run_dir(reference, "lstm", "adam") / "metrics.json").read_text())
    assert resumed["resumed_from_epoch"] >= 1, "the rerun started over instead of resuming"
    assert complete["resumed_from_epoch"] in (None, 0)
    assert comparable(resumed) == comparable(complete)
