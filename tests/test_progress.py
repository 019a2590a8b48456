"""``rnnbench progress``: the grid's state from hand-written job files in a fixture workflow.

The files copy what ``rnnbench train`` writes (formats taken from a real run of the loop):
the job log's lines, history.csv's columns and metrics.json's keys.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO_ROOT
from rnnbench.config import memory_grid_config
from rnnbench.errors import ConfigError
from rnnbench.experiment import paths
from rnnbench.progress import (
    cell_progress,
    duration,
    format_table,
    grid_progress,
)

HPARAMS = {"epochs": 5, "batch_size": 32, "hidden": 8, "head_hidden": 0, "patience": None}
NOW = 1_800_000_000.0  # "now" for every test, so ages and stalls do not depend on the clock

LOG_HEAD = """\
2026-11-29 23:57:22,988 INFO rnnbench.train: scan kernels, where this model uses them: compiled kernels (/root/.cache/rnnbench/kernels/kernels-057998a65e70602d.so)
2026-11-29 23:57:22,988 INFO rnnbench.train: mem {arch} adam len=12 seed=0: 97 params, 96/40/40 examples, device cpu, 1 threads
2026-11-29 23:58:22,996 INFO rnnbench.train: epoch 1/5 train_loss 0.7644 val_loss 0.7227 val_accuracy 0.5500 100.00s *best*
2026-11-29 23:59:23,006 INFO rnnbench.train: epoch 2/5 train_loss 0.7561 val_loss 0.7200 val_accuracy 0.5750 110.00s *best*
"""
HISTORY = """\
epoch,train_loss,val_loss,val_accuracy,seconds
1,0.7643654346466064,0.7226987361907959,0.55,100.0
2,0.7561256090799967,0.7199759244918823,0.575,110.0
"""


def cell(arch: str, seed: int = 0) -> dict:
    return {"dataset": "mem", "arch": arch, "optimizer": "adam", "length": 12, "seed": seed}


def metrics(arch: str, **changes: object) -> dict:
    """metrics.json of a finished memory-task run (the keys progress reads, as written)."""
    data = {
        "schema_version": 1,
        "status": "ok",
        "spec": cell(arch),
        "task": "memory",
        "headline_metric": "accuracy",
        "hparams": {
            "embedding_dim": None,
            "hidden": 8,
            "layers": 1,
            "dropout": 0.0,
            "head_hidden": 0,
            "conv_filters": 128,
            "conv_kernel": 5,
            "init": "keras",
            "epochs": 5,
            "batch_size": 32,
            "lr": 0.001,
            "weight_decay": 0.0,
            "momentum": None,
            "clip_norm": 1.0,
            "patience": None,
            "device": "cpu",
            "amp": False,
            "train_subsample": None,
            "eval_subsample": None,
        },
        "params": 97,
        "epochs_run": 5,
        "best_epoch": 4,
        "stopped_early": False,
        "diverged_epoch": None,
        "initial_loss": 0.7667200962702433,
        "final_train_loss": 0.7389771938323975,
        "validation": {"loss": 0.7159590244293212, "accuracy": 0.6},
        "test": {"loss": 0.7554934978485107, "accuracy": 0.625},
        "seconds_per_epoch": 12.5,
        "total_seconds": 63.0,
    }
    data.update(changes)
    return data


def write(path: Path, text: str, mtime: float = NOW - 5) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    os.utime(path, (mtime, mtime))
    return path


def run_dir(workdir: Path, c: dict) -> Path:
    return workdir / paths.run_dir(c)


def log_path(workdir: Path, c: dict) -> Path:
    return workdir / paths.train_log(c)


@pytest.fixture
def workflow(tmp_path: Path) -> Path:
    """A workflow directory: a 3-cell grid, rnn done, lstm running (2/5 epochs), gru waiting."""
    grid = {"archs": ["rnn", "lstm", "gru"], "optimizers": ["adam"], "lengths": [12]}
    config = memory_grid_config(grid, {"train": 96, "validation": 40, "test": 40}, HPARAMS)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")

    done = cell("rnn")
    write(run_dir(tmp_path, done) / "metrics.json", json.dumps(metrics("rnn"), indent=2) + "\n")
    write(run_dir(tmp_path, done) / "history.csv", HISTORY)
    write(
        log_path(tmp_path, done),
        LOG_HEAD.format(arch="rnn")
        + "2026-11-30 00:05:23,029 INFO rnnbench.train: done: status ok, best epoch 4, "
        "test accuracy 0.6250\n",
    )

    running = cell("lstm")
    write(run_dir(tmp_path, running) / "history.csv", HISTORY)
    write(run_dir(tmp_path, running) / "checkpoint.pt", "not read: only its age counts")
    write(
        log_path(tmp_path, running),
        LOG_HEAD.format(arch="lstm")
        + "2026-11-30 00:00:23,100 INFO rnnbench.train: epoch 3: batch 2/3, "
        "train_loss so far 0.7400\n",
    )
    return tmp_path


def by_arch(workdir: Path, **kwargs: object) -> dict:
    return {c.cell["arch"]: c for c in grid_progress(workdir, now=NOW, **kwargs)}


def test_done_running_and_waiting_cells(workflow: Path) -> None:
    cells = by_arch(workflow)
    assert [c.state for c in cells.values()] == ["done", "running", "waiting"]

    done = cells["rnn"]
    assert (done.epoch, done.epochs, done.metric, done.split) == (5, 5, "accuracy", "test")
    assert done.value == pytest.approx(0.625)
    assert done.notes == ["ok", "best epoch 4"]

    running = cells["lstm"]
    assert (running.epoch, running.epochs, running.batch) == (2, 5, (2, 3))
    assert (running.metric, running.split, running.value) == ("accuracy", "val", 0.575)
    assert running.seconds_per_epoch == pytest.approx(105.0)
    assert running.eta_s == pytest.approx(3 * 105.0)  # 3 epochs left at 105 s each
    assert not running.eta_is_bound  # patience: null, so the run cannot stop sooner
    assert running.updated_s == pytest.approx(5.0)

    waiting = cells["gru"]
    assert (waiting.epoch, waiting.epochs, waiting.updated_s) == (None, 5, None)


def test_table_shows_summary_epoch_and_eta(workflow: Path) -> None:
    text = format_table(grid_progress(workflow, now=NOW))
    lines = text.splitlines()
    assert lines[0] == "3 cells: 1 done, 1 running, 1 waiting"
    header = ["state", "cell", "epoch", "metric", "s/epoch", "ETA", "updated", "note"]
    assert lines[1].split() == header
    running = next(line for line in lines if line.startswith("running"))
    assert "mem/lstm/adam/len12/seed0" in running
    assert "2/5 (batch 2/3)" in running
    assert "val accuracy 0.5750" in running
    assert "1m45s" in running and "5m15s" in running  # s/epoch and ETA
    done = next(line for line in lines if line.startswith("done"))
    assert "test accuracy 0.6250" in done and "5/5" in done and "12.5s" in done
    assert next(line for line in lines if line.startswith("waiting")).split()[1:3] == [
        "mem/gru/adam/len12/seed0",
        "-",
    ]
    only = format_table(grid_progress(workflow, now=NOW), states=["running"]).splitlines()
    assert only[0] == lines[0] and len(only) == 3  # summary, header, the running cell


def test_resumed_job_after_snakemake_removed_history(workflow: Path) -> None:
    """A killed job's history.csv is deleted with its outputs; its log still counts epochs."""
    (run_dir(workflow, cell("lstm")) / "history.csv").unlink()
    running = by_arch(workflow)["lstm"]
    assert (running.state, running.epoch, running.value) == ("running", 2, 0.575)
    assert running.seconds_per_epoch == pytest.approx(105.0)  # from the log's "110.00s"


def test_early_stopping_makes_the_eta_a_bound(workflow: Path) -> None:
    config = yaml.safe_load((workflow / "config.yaml").read_text(encoding="utf-8"))
    config["datasets"]["mem"]["grid"]["hparams"]["patience"] = 2
    (workflow / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    cells = grid_progress(workflow, now=NOW)
    assert cells[1].eta_is_bound
    assert "≤5m15s" in format_table(cells)
    # The done cell ran with patience null: its result is from another config.
    assert cells[0].notes[-1] == "config changed (patience): will rerun"


def test_overlay_and_dataset_filter(workflow: Path) -> None:
    overlay = workflow / "more-seeds.yaml"
    overlay.write_text(yaml.safe_dump({"datasets": {"mem": {"grid": {"seeds": [0, 1]}}}}))
    cells = grid_progress(workflow, [overlay], datasets=["mem"], now=NOW)
    assert len(cells) == 6
    assert sum(c.state == "waiting" for c in cells) == 4  # seed 1 of each arch, and gru seed 0
    with pytest.raises(ConfigError, match="unknown dataset"):
        grid_progress(workflow, datasets=["nope"], now=NOW)


def test_failed_and_stalled_cells(workflow: Path) -> None:
    failed = cell("gru")
    write(
        log_path(workflow, failed),
        LOG_HEAD.format(arch="gru")
        + "Traceback (most recent call last):\n"
        + '  File "/x/loop.py", line 210, in run_training\n'
        + "RuntimeError: CUDA out of memory\n",
    )
    cells = by_arch(workflow)
    assert (cells["gru"].state, cells["gru"].epoch) == ("failed", 2)
    assert cells["gru"].notes == ["RuntimeError: CUDA out of memory"]
    # Five minutes without a write is an epoch's evaluation; two hours is a lost job.
    assert grid_progress(workflow, now=NOW + 300)[1].state == "running"
    later = grid_progress(workflow, now=NOW + 7200)
    assert later[1].state == "stalled"
    assert later[1].notes == ["silent for 2h00m: job gone? a rerun resumes it from checkpoint.pt"]
    assert format_table(later).splitlines()[0] == (
        "3 cells: 1 done, 0 running, 1 stalled, 1 failed, 0 waiting"
    )


def test_truncated_or_garbled_files_do_not_crash(workflow: Path) -> None:
    c = cell("gru")
    text = json.dumps(metrics("gru"), indent=2)
    write(run_dir(workflow, c) / "metrics.json", text[: len(text) // 2])
    write(run_dir(workflow, c) / "history.csv", "epoch,train_loss,val_loss,val_acc\n1,0.5,nan")
    write(log_path(workflow, c), "\x00\xff garbage\nepoch 9/x\n")
    got = cell_progress(workflow, c, now=NOW)
    assert got.state == "running"
    assert got.notes[0] == "metrics.json unreadable"
    assert format_table([got])  # and it prints


def test_duration() -> None:
    assert [duration(s) for s in (None, 4.4, 315, 7380, 100_000)] == [
        "-",
        "4s",
        "5m15s",
        "2h03m",
        "1d03h",
    ]


def test_cli_prints_the_table_without_importing_torch(workflow: Path) -> None:
    code = (
        "import sys; from rnnbench.cli import main; rc = main(['progress']); "
        "assert 'torch' not in sys.modules, 'progress imported torch'; sys.exit(rc)"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=workflow, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("3 cells: 1 done, 1 running, 1 waiting\n")


def test_cli_reports_a_missing_config(tmp_path: Path) -> None:
    from rnnbench.cli import main

    assert main(["progress", "-d", str(tmp_path)]) == 1
