"""``rnnbench export``: the runs in the experiment trackers people use.

One tracker run per grid cell (a row of ``results/summary/runs.csv``):

- **TensorBoard** (``--to tensorboard DIR``): ``DIR/<cell>/`` holds the per-epoch curves of
  the cell's ``history.csv`` (``curves/<column>``, step = epoch), and through the HParams
  plugin its grid dimensions and hyperparameters with its final test metrics
  (``test/<metric>``) and cost (``run/params``, ``run/seconds_per_epoch``, ...), so the
  HParams dashboard filters and compares the cells.
- **MLflow** (``--to mlflow DIR``): an MLflow store in DIR (``DIR/mlflow.db`` and
  ``DIR/artifacts``; ``mlflow ui --backend-store-uri sqlite:///DIR/mlflow.db``),
  experiment ``rnnbench``: per cell one run with the grid dimensions and
  hyperparameters as params and tags, the per-epoch curves as metrics with their step, the
  final metrics, and the cell's ``metrics.json`` as an artifact.

The grid dimensions are runs.csv's columns before ``status`` (dataset, task, arch,
optimizer, length, seed and any the grid gains, e.g. train_size or fold). Exporting again
adds no run twice: a cell whose results have not changed is left as it is, a changed one is
replaced, and a cell no longer in runs.csv is removed. Both libraries are the optional
extra ``pip install rnnbench[trackers]``; nothing else in rnnbench imports them.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import math
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnbench.errors import RnnbenchError
from rnnbench.io import write_json_atomic

LOG = logging.getLogger("rnnbench.export")
TRACKERS = ("tensorboard", "mlflow")
EXPERIMENT = "rnnbench"
RUNS_ROOT = "results/runs/"
FINGERPRINT = ".rnnbench-export.json"  # in each TensorBoard run: what it was written from
CELL_TAG = "rnnbench.cell"
FINGERPRINT_TAG = "rnnbench.fingerprint"
DATABASE = "mlflow.db"
INDEX = "export.json"
FORMAT = 2  # bump when the export's layout changes, so every run is rewritten


@dataclass(frozen=True)
class Cell:
    """One run of runs.csv, with what the trackers get from it."""

    name: str  # e.g. imdb/gru/adam/len200/seed0 (the run directory under results/runs/)
    run_dir: Path
    dimensions: dict[str, Any]  # the grid's: dataset, task, arch, optimizer, length, seed, ...
    hparams: dict[str, Any]  # hp_* of runs.csv, without the prefix; empty ones left out
    final: dict[str, float]  # test_* metrics and the run's cost figures
    history: list[dict[str, float]]  # history.csv, one dict per epoch
    fingerprint: str


def _value(text: str) -> Any:
    """A runs.csv cell as a number, a bool or text; None when empty."""
    if text == "":
        return None
    if text in ("True", "False"):
        return text == "True"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return None if math.isnan(value) or math.isinf(value) else float(value)


FINAL_COLUMNS = ("params", "epochs_run", "best_epoch", "seconds_per_epoch", "samples_per_second")


def read_cells(runs_csv: Path, workdir: Path = Path()) -> list[Cell]:
    """Every run of ``runs_csv`` with its history; a run without its files is an error."""
    if not runs_csv.is_file():
        raise RnnbenchError(f"{runs_csv} does not exist: run the workflow first (snakemake ...)")
    with runs_csv.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        columns = list(reader.fieldnames or [])
        rows = list(reader)
    if "status" not in columns or "run_dir" not in columns:
        raise RnnbenchError(f"{runs_csv}: not an rnnbench runs.csv (no status or run_dir column)")
    dims = columns[: columns.index("status")]
    cells = []
    for row in rows:
        run_dir = workdir / row["run_dir"]
        history_path, metrics_path = run_dir / "history.csv", run_dir / "metrics.json"
        for path in (history_path, metrics_path):
            if not path.is_file():
                raise RnnbenchError(f"{runs_csv}: run {row['run_dir']} has no {path.name}")
        with history_path.open(newline="", encoding="utf-8") as handle:
            history = [
                {k: float(v) for k, v in r.items() if v != ""} for r in csv.DictReader(handle)
            ]
        values = {k: _value(v) for k, v in row.items()}
        final = {
            k: n
            for k, v in values.items()
            if (k.startswith("test_") or k in FINAL_COLUMNS) and (n := _number(v)) is not None
        }
        digest = hashlib.sha256(f"{FORMAT}\n".encode())
        digest.update(json.dumps(row, sort_keys=True).encode())
        digest.update(history_path.read_bytes())
        digest.update(metrics_path.read_bytes())
        cells.append(
            Cell(
                name=row["run_dir"].removeprefix(RUNS_ROOT).strip("/"),
                run_dir=run_dir,
                dimensions={k: values[k] for k in dims},
                hparams={
                    k.removeprefix("hp_"): v
                    for k, v in values.items()
                    if k.startswith("hp_") and v is not None
                },
                final=final,
                history=history,
                fingerprint=digest.hexdigest(),
            )
        )
    return cells


def curves(cell: Cell) -> Iterator[tuple[str, int, float]]:
    """``(column, epoch, value)`` of every finite number in the cell's history.csv."""
    for row in cell.history:
        epoch = int(row["epoch"])
        for key, value in row.items():
            if key != "epoch" and math.isfinite(value):
                yield key, epoch, value


# --- TensorBoard ----------------------------------------------------------------------------


def final_tag(column: str) -> str:
    """A final figure's TensorBoard tag: ``test/<metric>``, or ``run/<figure>`` for the
    run's cost (parameters, epochs, seconds per epoch)."""
    if column.startswith("test_"):
        return "test/" + column.removeprefix("test_")
    return "run/" + column


def _tensorboard_run(cell: Cell, out: Path) -> None:
    from torch.utils.tensorboard import SummaryWriter

    # A bool as text: torch would store it as 0/1, and a key such as amp holds False or
    # "bf16" in different runs, one column of text for the HParams dashboard either way.
    hparams = {
        k: str(v) if isinstance(v, bool) else v
        for k, v in {**cell.dimensions, **cell.hparams}.items()
    }
    with SummaryWriter(str(out)) as writer:
        for key, epoch, value in curves(cell):
            writer.add_scalar(f"curves/{key}", value, epoch)
        metrics = {final_tag(k): v for k, v in cell.final.items()}
        # run_name ".": the hparams and final metrics go into the cell's own run, not a
        # sub-run named by the time, so the HParams dashboard shows one row per cell.
        writer.add_hparams(hparams, metrics, run_name=".")


def _exported_tensorboard_runs(root: Path) -> dict[str, str]:
    """``{cell name: fingerprint}`` of the runs an earlier export wrote under ``root``."""
    found = {}
    for marker in root.glob(f"**/{FINGERPRINT}"):
        found[marker.parent.relative_to(root).as_posix()] = json.loads(marker.read_text())[
            "fingerprint"
        ]
    return found


def export_tensorboard(cells: list[Cell], root: Path) -> dict[str, int]:
    """Write (or bring up to date) one TensorBoard run per cell under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    before = _exported_tensorboard_runs(root)
    counts = {"written": 0, "unchanged": 0, "removed": 0}
    for cell in cells:
        if before.get(cell.name) == cell.fingerprint:
            counts["unchanged"] += 1
            continue
        target = root / cell.name
        staging = root / ".staging" / cell.name
        shutil.rmtree(staging, ignore_errors=True)
        _tensorboard_run(cell, staging)
        (staging / FINGERPRINT).write_text(json.dumps({"fingerprint": cell.fingerprint}))
        shutil.rmtree(target, ignore_errors=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging.rename(target)
        counts["written"] += 1
    for name in set(before) - {cell.name for cell in cells}:
        shutil.rmtree(root / name)
        counts["removed"] += 1
    shutil.rmtree(root / ".staging", ignore_errors=True)
    return counts


# --- MLflow ---------------------------------------------------------------------------------


def tracking_uri(root: Path) -> str:
    """The MLflow store in ``root``: a SQLite database, ``root/mlflow.db`` (MLflow's
    file-system store is in maintenance mode and refuses to open by default since 3.x)."""
    return f"sqlite:///{(root / DATABASE).absolute()}"


def _mlflow_client(root: Path) -> tuple[Any, str]:
    from mlflow.tracking import MlflowClient

    root.mkdir(parents=True, exist_ok=True)
    client = MlflowClient(tracking_uri=tracking_uri(root))
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is not None:
        return client, experiment.experiment_id
    artifacts = (root / "artifacts").absolute().as_uri()
    return client, client.create_experiment(EXPERIMENT, artifact_location=artifacts)


def _mlflow_run(client: Any, experiment_id: str, cell: Cell) -> None:
    from mlflow.entities import Metric, Param

    tags = {CELL_TAG: cell.name, FINGERPRINT_TAG: cell.fingerprint}
    tags.update({k: str(v) for k, v in cell.dimensions.items()})
    run = client.create_run(experiment_id, run_name=cell.name, tags=tags)
    run_id = run.info.run_id
    now = run.info.start_time
    params = [Param(k, str(v)) for k, v in {**cell.dimensions, **cell.hparams}.items()]
    metrics = [Metric(key, value, now, epoch) for key, epoch, value in curves(cell)]
    metrics += [Metric(key, value, now, 0) for key, value in cell.final.items()]
    for start in range(0, max(len(params), len(metrics)), 100):  # log_batch's limits
        client.log_batch(
            run_id, metrics=metrics[start : start + 100], params=params[start : start + 100]
        )
    client.log_artifact(run_id, str(cell.run_dir / "metrics.json"))
    client.set_terminated(run_id, "FINISHED")


def export_mlflow(cells: list[Cell], root: Path) -> dict[str, int]:
    """Write (or bring up to date) one MLflow run per cell in the file store ``root``."""
    client, experiment_id = _mlflow_client(root)
    before: dict[str, list[Any]] = {}
    for run in client.search_runs([experiment_id], max_results=50000):
        before.setdefault(run.data.tags.get(CELL_TAG, ""), []).append(run)
    counts = {"written": 0, "unchanged": 0, "removed": 0}
    for cell in cells:
        runs = before.pop(cell.name, [])
        if len(runs) == 1 and runs[0].data.tags.get(FINGERPRINT_TAG) == cell.fingerprint:
            counts["unchanged"] += 1
            continue
        for run in runs:
            client.delete_run(run.info.run_id)
        _mlflow_run(client, experiment_id, cell)
        counts["written"] += 1
    for runs in before.values():
        for run in runs:
            client.delete_run(run.info.run_id)
            counts["removed"] += 1
    return counts


# --- the command ----------------------------------------------------------------------------

EXPORTERS = {"tensorboard": export_tensorboard, "mlflow": export_mlflow}
OPEN_COMMANDS = {
    "tensorboard": "tensorboard --logdir {dir}",
    "mlflow": "mlflow ui --backend-store-uri sqlite:///{dir}/mlflow.db",
}
PACKAGES = {"tensorboard": "tensorboard", "mlflow": "mlflow"}
NAMES = {"tensorboard": "TensorBoard", "mlflow": "MLflow"}


def export(tracker: str, out: Path, runs_csv: Path, workdir: Path = Path()) -> dict[str, int]:
    """Export every run of ``runs_csv`` to ``tracker`` under ``out``, then write
    ``out/export.json``: each exported cell with its fingerprint, and what changed."""
    import importlib.util

    module = PACKAGES[tracker]
    if importlib.util.find_spec(module) is None:
        raise RnnbenchError(
            f"rnnbench export --to {tracker} needs the {module} package: "
            "pip install 'rnnbench[trackers]' (from a clone: pip install -e '.[trackers]')"
        )
    cells = read_cells(runs_csv, workdir)
    counts = EXPORTERS[tracker](cells, out)
    # Written last: the workflow's `export` rule's output, and what the export holds.
    index = {"tracker": tracker, "runs": {c.name: c.fingerprint for c in cells}, **counts}
    write_json_atomic(out / INDEX, index)
    return counts
