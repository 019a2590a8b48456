"""`rnnbench export`: the runs in TensorBoard and MLflow, read back through each library's
own reader (TensorBoard's EventAccumulator, MLflow's search_runs) and compared with
runs.csv and history.csv. Needs the trackers extra (pip install -e '.[trackers]'): skipped
without it, except where RNNBENCH_REQUIRE_TRACKERS=1 (CI)."""

from __future__ import annotations

import csv
import importlib.util
import json
import math
import os
from pathlib import Path

import pytest

from rnnbench.trackers import export, read_cells, tracking_uri

REQUIRED = os.environ.get("RNNBENCH_REQUIRE_TRACKERS") == "1"


def needs(package: str) -> pytest.MarkDecorator:
    missing = importlib.util.find_spec(package) is None
    if missing and REQUIRED:
        raise RuntimeError(f"RNNBENCH_REQUIRE_TRACKERS=1 but {package} is not installed")
    return pytest.mark.skipif(
        missing, reason=f"{package} not installed (pip install -e '.[trackers]')"
    )


# Two datasets, a grid dimension a grid may gain (train_size), a hyperparameter that is
# empty for some runs (heads), a bool one (amp) and a run whose last epoch has no score.
CELLS = [
    ("imdb", "sentiment", "gru", "adam", 200, 1000, 0, 3, {"hp_heads": ""}),
    ("imdb", "sentiment", "gru", "adam", 200, 1000, 1, 3, {"hp_heads": ""}),
    ("imdb", "sentiment", "transformer", "adam", 200, 2000, 0, 2, {"hp_heads": "4"}),
    ("memory", "memory", "lstm", "sgd", 50, 4000, 2, 4, {"hp_heads": ""}),
]


def write_results(root: Path, cells=CELLS, shift: float = 0.0) -> Path:
    """A results tree as the workflow writes it: runs.csv, and per run its history.csv
    and metrics.json."""
    rows = []
    for dataset, task, arch, optimizer, length, train_size, seed, epochs, extra in cells:
        run_dir = f"results/runs/{dataset}/{arch}/{optimizer}/len{length}/n{train_size}/seed{seed}"
        (root / run_dir).mkdir(parents=True, exist_ok=True)
        history = [
            {
                "epoch": e,
                "train_loss": 1.0 / e + shift,
                "val_loss": 1.2 / e,
                "val_accuracy": ""
                if e == epochs and arch == "lstm"
                else 0.5 + 0.1 * e + seed / 100,
                "seconds": 0.25,
            }
            for e in range(1, epochs + 1)
        ]
        with (root / run_dir / "history.csv").open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(history[0]))
            writer.writeheader()
            writer.writerows(history)
        metrics = {"status": "ok", "spec": {"dataset": dataset, "arch": arch, "seed": seed}}
        (root / run_dir / "metrics.json").write_text(json.dumps(metrics))
        rows.append(
            {
                "dataset": dataset,
                "task": task,
                "arch": arch,
                "optimizer": optimizer,
                "length": length,
                "train_size": train_size,
                "seed": seed,
                "status": "ok",
                "flags": "",
                "params": 1000 + seed,
                "epochs_run": epochs,
                "seconds_per_epoch": 0.25,
                "test_accuracy": 0.7 + seed / 10 + shift,
                "test_loss": 0.5,
                "hp_lr": 0.001,
                "hp_hidden": 32,
                "hp_amp": "False",
                **extra,
                "run_dir": run_dir,
            }
        )
    runs = root / "results/summary/runs.csv"
    runs.parent.mkdir(parents=True, exist_ok=True)
    with runs.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return runs


def runs_csv_rows(runs: Path) -> dict[str, dict[str, str]]:
    with runs.open(newline="") as handle:
        return {r["run_dir"].removeprefix("results/runs/"): r for r in csv.DictReader(handle)}


def grid_columns(runs: Path) -> list[str]:
    """runs.csv's grid dimensions: its columns before status."""
    with runs.open(newline="") as handle:
        header = next(csv.reader(handle))
    return header[: header.index("status")]


def history_of(root: Path, row: dict[str, str]) -> list[dict[str, str]]:
    with (root / row["run_dir"] / "history.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


GRID = ["dataset", "task", "arch", "optimizer", "length", "train_size", "seed"]


def test_the_grid_dimensions_are_the_columns_before_status(tmp_path):
    cells = read_cells(write_results(tmp_path), tmp_path)
    assert [list(c.dimensions) for c in cells] == [GRID] * 4
    assert cells[0].name == "imdb/gru/adam/len200/n1000/seed0"
    assert "heads" not in cells[0].hparams and cells[2].hparams["heads"] == 4
    assert cells[0].hparams["amp"] is False


# --- TensorBoard ----------------------------------------------------------------------------


def tensorboard_runs(root: Path) -> dict[str, object]:
    """Every run of a logdir, as TensorBoard's own loader finds it."""
    from tensorboard.backend.event_processing.event_multiplexer import EventMultiplexer

    multiplexer = EventMultiplexer().AddRunsFromDirectory(str(root))
    multiplexer.Reload()
    return {name: multiplexer.GetAccumulator(name) for name in multiplexer.Runs()}


def hparams_of(accumulator) -> dict[str, object]:
    from tensorboard.plugins.hparams import plugin_data_pb2

    content = accumulator.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    info = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info
    values = {}
    for key, value in info.hparams.items():
        values[key] = getattr(value, value.WhichOneof("kind"))
    return values


def check_tensorboard(root: Path, runs: Path) -> None:
    rows = runs_csv_rows(runs)
    found = tensorboard_runs(root)
    assert sorted(found) == sorted(rows)  # one run per cell, none twice
    for name, accumulator in found.items():
        row = rows[name]
        history = history_of(runs.parents[2], row)
        for column in ("train_loss", "val_loss", "val_accuracy", "seconds"):
            expected = [(int(h["epoch"]), float(h[column])) for h in history if h[column] != ""]
            events = accumulator.Scalars(f"curves/{column}")
            assert [e.step for e in events] == [step for step, _ in expected]
            assert [e.value for e in events] == pytest.approx([v for _, v in expected], rel=1e-6)
        final = accumulator.Scalars("test/accuracy")
        assert [e.value for e in final] == pytest.approx([float(row["test_accuracy"])], rel=1e-6)
        assert accumulator.Scalars("run/params")[0].value == float(row["params"])
        hparams = hparams_of(accumulator)
        for key in grid_columns(runs):
            assert str(hparams[key]).removesuffix(".0") == row[key], key
        assert hparams["lr"] == pytest.approx(float(row["hp_lr"]))
        assert hparams["amp"] == "False"
        assert ("heads" in hparams) == (row["hp_heads"] != "")


@needs("tensorboard")
def test_tensorboard_export_reads_back_as_runs_csv_and_history(tmp_path):
    runs = write_results(tmp_path)
    counts = export("tensorboard", tmp_path / "tb", runs, tmp_path)
    assert counts == {"written": 4, "unchanged": 0, "removed": 0}
    check_tensorboard(tmp_path / "tb", runs)
    index = json.loads((tmp_path / "tb/export.json").read_text())
    assert sorted(index["runs"]) == sorted(runs_csv_rows(runs))


@needs("tensorboard")
def test_tensorboard_export_twice_duplicates_nothing_and_follows_changes(tmp_path):
    runs = write_results(tmp_path)
    export("tensorboard", tmp_path / "tb", runs, tmp_path)
    files = sorted((tmp_path / "tb").rglob("events.out.tfevents.*"))
    assert export("tensorboard", tmp_path / "tb", runs, tmp_path)["unchanged"] == 4
    assert sorted((tmp_path / "tb").rglob("events.out.tfevents.*")) == files
    check_tensorboard(tmp_path / "tb", runs)

    # One cell's results change, one leaves the grid: its run goes, the changed one is
    # rewritten, the others stay as they were.
    runs = write_results(tmp_path, CELLS[:3], shift=0.5)
    counts = export("tensorboard", tmp_path / "tb", runs, tmp_path)
    assert counts == {"written": 3, "unchanged": 0, "removed": 1}
    check_tensorboard(tmp_path / "tb", runs)


# --- MLflow ---------------------------------------------------------------------------------


def mlflow_runs(root: Path):
    import mlflow

    mlflow.set_tracking_uri(tracking_uri(root))
    return mlflow.search_runs(experiment_names=["rnnbench"], max_results=1000)


def check_mlflow(root: Path, runs: Path) -> None:
    from mlflow.tracking import MlflowClient

    rows = runs_csv_rows(runs)
    frame = mlflow_runs(root)
    assert sorted(frame["tags.rnnbench.cell"]) == sorted(rows)  # one run per cell
    client = MlflowClient(tracking_uri=tracking_uri(root))
    for _, run in frame.iterrows():
        row = rows[run["tags.rnnbench.cell"]]
        for key in grid_columns(runs):
            assert run[f"params.{key}"] == row[key] and run[f"tags.{key}"] == row[key]
        assert run["params.lr"] == str(float(row["hp_lr"])) and run["params.amp"] == "False"
        heads = run.get("params.heads")
        assert (heads if isinstance(heads, str) else "") == row["hp_heads"]  # absent: NaN
        assert run["metrics.test_accuracy"] == pytest.approx(float(row["test_accuracy"]))
        assert run["status"] == "FINISHED"
        history = history_of(runs.parents[2], row)
        for column in ("train_loss", "val_loss", "val_accuracy"):
            expected = [(int(h["epoch"]), float(h[column])) for h in history if h[column] != ""]
            curve = sorted(
                (m.step, m.value) for m in client.get_metric_history(run["run_id"], column)
            )
            assert curve == [(s, pytest.approx(v)) for s, v in expected]
        artifacts = [a.path for a in client.list_artifacts(run["run_id"])]
        assert artifacts == ["metrics.json"]
        assert not any(math.isnan(v) for v in frame["metrics.test_loss"])


@needs("mlflow")
def test_mlflow_export_reads_back_as_runs_csv_and_history(tmp_path):
    runs = write_results(tmp_path)
    assert export("mlflow", tmp_path / "ml", runs, tmp_path)["written"] == 4
    check_mlflow(tmp_path / "ml", runs)

    # Twice: nothing new; a changed cell is replaced, a removed cell is no longer listed.
    assert export("mlflow", tmp_path / "ml", runs, tmp_path)["unchanged"] == 4
    check_mlflow(tmp_path / "ml", runs)
    runs = write_results(tmp_path, CELLS[:3], shift=0.5)
    counts = export("mlflow", tmp_path / "ml", runs, tmp_path)
    assert counts == {"written": 3, "unchanged": 0, "removed": 1}
    check_mlflow(tmp_path / "ml", runs)


def test_a_missing_extra_names_the_install_command(tmp_path, monkeypatch):
    from rnnbench.errors import RnnbenchError

    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(RnnbenchError, match=r"pip install 'rnnbench\[trackers\]'"):
        export("mlflow", tmp_path / "ml", write_results(tmp_path), tmp_path)
