"""``rnnbench progress``: the grid's state, read from the files the training jobs write.

Run it from the workflow directory (where ``results/`` and ``logs/`` live), also while
Snakemake or Slurm is running. It asks no scheduler and holds no lock: everything comes
from what ``rnnbench train`` already writes for each cell, so it works the same on a
laptop and on a cluster's shared file system:

- ``results/runs/<cell>/metrics.json``: written last (atomically), so it means *done*;
- ``results/runs/<cell>/history.csv``: one row per finished epoch, rewritten (atomically)
  at every epoch end: ``epoch, train_loss, val_loss, val_<headline>, ..., seconds``;
- ``logs/train/<cell>.log``: the job's stderr, truncated when a job (re)starts. Its
  ``epoch k/n ...`` line is the only place that says how many epochs the job runs, and a
  traceback at its end means the attempt failed;
- ``results/runs/<cell>/checkpoint.pt``: only its presence and age are used (reading it
  would need torch). It outlives a killed job, whose history.csv Snakemake deletes.

The whole grid (so that cells not yet started are listed) is resolved from the config
the way the workflow resolves it: ``config.yaml``, then each ``--configfile`` overlay
merged by Snakemake's own ``update_config``, validated with the schema's defaults filled.
This module imports neither torch nor pandas: it must answer in well under a second.
"""

from __future__ import annotations

import csv
import math
import os
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnnbench.errors import ConfigError
from rnnbench.experiment.grid import cell_spec, grid_cells
from rnnbench.experiment.paths import (
    CHECKPOINT_FILE,
    HISTORY_FILE,
    METRICS_FILE,
    run_dir,
    train_log,
)
from rnnbench.experiment.spec import SpecError, resolve_spec
from rnnbench.io import read_json_object

STATES: tuple[str, ...] = ("done", "running", "stalled", "failed", "waiting")
# Only so much of a log is read: the latest epoch lines and a final traceback are at its end.
LOG_TAIL_BYTES = 64 * 1024
# A running job touches its log at least every minute mid-epoch (loop.PROGRESS_EVERY_S) and
# at every epoch end; only evaluation (shorter than an epoch) and, before the first epoch,
# data loading and the initial-loss pass (no epoch time known yet) are silent. A cell
# silent for longer than this most likely lost its job (SIGKILL, Slurm's time limit, a
# node failure) without a word in its log: a rerun resumes it from checkpoint.pt.
STALL_AFTER_S = 10 * 60
STALL_BEFORE_FIRST_EPOCH_S = 30 * 60
STALL_EPOCHS = 3

# The loop's log lines (rnnbench.train.loop._log_epoch, run_training, _train_epoch).
EPOCH_LINE = re.compile(
    r"rnnbench\.train: epoch (?P<epoch>\d+)/(?P<epochs>\d+) (?P<values>.*?)"
    r" (?P<seconds>[0-9.]+)s(?P<best> \*best\*)?\s*$"
)
BATCH_LINE = re.compile(r"rnnbench\.train: epoch (?P<epoch>\d+): batch (?P<batch>\d+)/(?P<of>\d+)")
RESUME_LINE = re.compile(r"rnnbench\.train: resuming from .* after epoch (?P<epoch>\d+)")
# `rnnbench train` prints these itself for a bad spec or a known error; anything else
# that kills the job leaves Python's traceback.
ERROR_PREFIXES = ("Traceback (most recent call last):", "rnnbench train: ")


@dataclass
class CellProgress:
    """What the files say about one grid cell."""

    cell: dict[str, Any]  # dataset, arch, optimizer, length, seed
    state: str = "waiting"  # one of STATES
    epoch: int | None = None  # finished epochs (done: epochs run)
    epochs: int | None = None  # epochs the job runs (its log), else the config's
    metric: str | None = None  # headline metric's name, e.g. "accuracy"
    value: float | None = None  # done: its test value; running: its last validation value
    split: str | None = None  # "test" or "val": where `value` comes from
    seconds_per_epoch: float | None = None
    eta_s: float | None = None  # remaining epochs x s/epoch (running only)
    eta_is_bound: bool = False  # early stopping is on, so the run may end sooner
    batch: tuple[int, int] | None = None  # mid-epoch (batch, of) from the log, if newer
    updated_s: float | None = None  # seconds since any of the cell's files last changed
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        c = self.cell
        return f"{c['dataset']}/{c['arch']}/{c['optimizer']}/len{c['length']}/seed{c['seed']}"


@dataclass
class Plan:
    """What the config says a cell runs: epochs, patience, and hparams to compare."""

    epochs: int | None = None
    patience: int | None = None
    hparams: dict[str, Any] = field(default_factory=dict)


# --- the grid ------------------------------------------------------------------------------


def config_files(workdir: Path, configfiles: Sequence[str | Path] = ()) -> list[Path]:
    """``config.yaml`` of the workflow directory, then each overlay (a path as given, else
    relative to the workflow directory, so ``-d REPO presets/quick.yaml`` works anywhere).
    Without ``config.yaml`` the message says where it looked and how to point there:
    an overlay (a preset) only adds to it, as it does for snakemake."""
    base = workdir / "config.yaml"
    if not base.is_file() and not configfiles:
        raise ConfigError(f"no config.yaml in {workdir.resolve()}: {_where_to_run(workdir)}")
    # Like Snakemake: without config.yaml, the overlays alone are the config.
    files = [base] if base.is_file() else []
    for name in configfiles:
        path = Path(name)
        if not path.is_file() and not path.is_absolute() and (workdir / path).is_file():
            path = workdir / path
        if not path.is_file():
            looked = dict.fromkeys([Path(name).resolve(), (workdir / name).resolve()])
            hint = (
                "" if base.is_file() else f"; no config.yaml here either: {_where_to_run(workdir)}"
            )
            raise ConfigError(
                f"config file {name}: not found (looked for {' and '.join(map(str, looked))})"
                + hint
            )
        files.append(path)
    return files


def load_config(workdir: Path, configfiles: Sequence[str | Path] = ()) -> dict[str, Any]:
    """The workflow's config: ``config.yaml`` then each overlay, loaded, merged and
    validated (the schema's defaults filled) as the workflow does (rnnbench.config)."""
    # Imported here: snakemake and jsonschema cost ~0.1 s that the other commands skip.
    from rnnbench.config import load_config as load_files
    from rnnbench.config import schema_path, validate_config

    files = config_files(workdir, configfiles)
    config = load_files(files)
    try:
        validate_config(config, schema_path(workdir))  # fills the schema's defaults
    except ConfigError as err:
        shown = " + ".join(str(f) for f in files)
        hint = ""
        if not (workdir / "config.yaml").is_file():
            hint = f"\nno config.yaml in {workdir.resolve()}, so the overlays alone were read: "
            hint += _where_to_run(workdir)
        raise ConfigError(f"{err}\n(config read from {shown}){hint}") from None
    return config


def _where_to_run(workdir: Path) -> str:
    """How to point ``rnnbench progress`` at the workflow directory."""
    repo = Path(__file__).resolve().parents[2]
    here = f" (the repository: {repo})" if (repo / "config.yaml").is_file() else ""
    return (
        f"looked for {(workdir / 'config.yaml').resolve()}. Run `rnnbench progress` in the "
        f"directory you ran snakemake in (the repository root), or point it there with "
        f"-d DIR{here}; a preset is an overlay on its config.yaml: "
        "rnnbench progress [-d DIR] presets/NAME.yaml"
    )


def grid(config: dict[str, Any], datasets: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Every cell the workflow trains (``datasets_to_run``), or those of ``datasets``."""
    names = list(datasets) if datasets else list(config["datasets_to_run"])
    unknown = [n for n in names if n not in config["datasets"]]
    if unknown:
        raise ConfigError(f"unknown dataset(s) {unknown}; configured: {sorted(config['datasets'])}")
    return [cell for name in names for cell in grid_cells(name, config["datasets"][name])]


def _plan(ds: dict[str, Any], cell: dict[str, Any]) -> Plan:
    """Epochs and patience as the job will resolve them (defaults included)."""
    try:
        spec = resolve_spec(cell_spec(ds, cell))
    except SpecError:
        return Plan()  # the workflow refuses this config anyway; show what the files say
    training = spec.training
    # device/amp are recorded as used (auto -> cpu/cuda), so they would always differ.
    compared = {k: v for k, v in {**spec.model, **training}.items() if k not in ("device", "amp")}
    return Plan(
        epochs=training["epochs"],
        patience=training["patience"],
        hparams={k: v for k, v in compared.items() if v is not None},
    )


# --- reading one cell ---------------------------------------------------------------------


def _read_json(path: Path) -> dict[str, Any] | None:
    """A metrics.json, or None when it is not (yet) readable: progress never fails on one."""
    try:
        return read_json_object(path)
    except ValueError:  # unreadable, truncated or otherwise not a JSON object
        return None


def _float(text: Any) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _read_history(path: Path) -> tuple[str | None, dict[int, tuple[float | None, float | None]]]:
    """(headline metric, {epoch: (val headline, seconds)}) from history.csv; empty if unreadable."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error):
        return None, {}
    if not rows or len(rows[0]) < 4 or not rows[0][3].startswith("val_"):
        return None, {}
    header = rows[0]
    # loop._history_columns: epoch, train_loss, val_loss, val_<headline>, ..., seconds.
    metric = header[3].removeprefix("val_")
    seconds_at = header.index("seconds") if "seconds" in header else None
    epochs: dict[int, tuple[float | None, float | None]] = {}
    for row in rows[1:]:
        if len(row) != len(header) or not row[0].isdigit():
            continue
        seconds = _float(row[seconds_at]) if seconds_at is not None else None
        epochs[int(row[0])] = (_float(row[3]), seconds)
    return metric, epochs


@dataclass
class _Log:
    epochs: int | None = None  # n of the last "epoch k/n" line
    metric: str | None = None
    records: dict[int, tuple[float | None, float | None]] = field(default_factory=dict)
    resumed_after: int | None = None
    batch: tuple[int, int, int] | None = None  # (epoch, batch, of) of the last batch line
    error: str | None = None  # the last line, when the log ends in an error


def _tail(path: Path, size: int = LOG_TAIL_BYTES) -> str | None:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            start = max(0, handle.tell() - size)
            handle.seek(start)
            data = handle.read()
    except OSError:
        return None
    text = data.decode("utf-8", errors="replace")
    # A cut first line could be half an epoch line: drop it.
    return text.split("\n", 1)[1] if start > 0 and "\n" in text else text


def _read_log(path: Path) -> _Log | None:
    text = _tail(path)
    if text is None:
        return None
    log = _Log()
    lines = [line for line in text.splitlines() if line.strip()]
    for line in lines:
        if match := EPOCH_LINE.search(line):
            # "<key> <value>" pairs: train_loss, val_loss, val_<headline>, other val_ keys.
            words = match["values"].split()
            pairs = dict(zip(words[::2], words[1::2], strict=False))
            keys = list(pairs)
            if len(keys) >= 3 and keys[2].startswith("val_"):
                log.metric = keys[2].removeprefix("val_")
                value = _float(pairs[keys[2]])
            else:
                value = None
            log.epochs = int(match["epochs"])
            log.records[int(match["epoch"])] = (value, _float(match["seconds"]))
        elif match := BATCH_LINE.search(line):
            log.batch = (int(match["epoch"]), int(match["batch"]), int(match["of"]))
        elif match := RESUME_LINE.search(line):
            log.resumed_after = int(match["epoch"])
    # An error must be the attempt's last word: a traceback, or rnnbench's own message.
    start = next(
        (i for i in range(len(lines) - 1, -1, -1) if lines[i].startswith(ERROR_PREFIXES)), None
    )
    if start is not None and not any(EPOCH_LINE.search(line) for line in lines[start:]):
        log.error = lines[-1].strip()
    return log


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def _done(progress: CellProgress, metrics: dict[str, Any], plan: Plan) -> None:
    progress.state = "done"
    status = metrics.get("status")
    progress.notes.append(str(status or "?"))
    progress.metric = metrics.get("headline_metric")
    test = metrics.get("test")
    if isinstance(test, dict) and progress.metric:
        progress.value, progress.split = _float(test.get(progress.metric)), "test"
    epochs_run = metrics.get("epochs_run")
    progress.epoch = epochs_run if isinstance(epochs_run, int) else None
    hparams = metrics.get("hparams") if isinstance(metrics.get("hparams"), dict) else {}
    epochs = hparams.get("epochs")
    progress.epochs = epochs if isinstance(epochs, int) else plan.epochs
    progress.seconds_per_epoch = _float(metrics.get("seconds_per_epoch"))
    if metrics.get("diverged_epoch") is not None:
        progress.notes.append(f"diverged at epoch {metrics['diverged_epoch']}")
    if metrics.get("best_epoch") is not None:
        progress.notes.append(f"best epoch {metrics['best_epoch']}")
    if metrics.get("stopped_early"):
        progress.notes.append("stopped early")
    # The result of an older config: Snakemake reruns it (params changed), we can only flag it.
    changed = sorted(k for k, v in plan.hparams.items() if k in hparams and hparams[k] != v)
    if changed:
        progress.notes.append(f"config changed ({', '.join(changed)}): will rerun")


def _in_progress(progress: CellProgress, cell_dir: Path, log: _Log | None, plan: Plan) -> None:
    """A cell with no result yet: running, stalled or failed; epochs from history and log."""
    metric, records = _read_history(cell_dir / HISTORY_FILE)
    if log is not None:
        metric = metric or log.metric
        # The log line of an epoch is written just before its history row, so the log can
        # be one epoch ahead; history.csv has the full-precision values, so it wins.
        records = {**log.records, **records}
    last = max(records, default=0)
    if log is not None and log.resumed_after is not None:
        last = max(last, log.resumed_after)  # a resumed job's history is rewritten at epoch end
    progress.epoch = last
    progress.epochs = log.epochs if log is not None and log.epochs else plan.epochs
    progress.metric = metric
    if last in records:
        progress.value, progress.split = records[last][0], "val"
    seconds = [s for _, s in records.values() if s is not None]
    if seconds:
        progress.seconds_per_epoch = sum(seconds) / len(seconds)
    if progress.epochs is not None and progress.seconds_per_epoch is not None:
        remaining = max(progress.epochs - last, 0)
        progress.eta_s = remaining * progress.seconds_per_epoch
        progress.eta_is_bound = plan.patience is not None and remaining > 0
    if log is not None and log.batch is not None and log.batch[0] == last + 1:
        progress.batch = log.batch[1:]
    if log is not None and log.error is not None:
        progress.state = "failed"
        progress.notes.append(log.error[:80])
        return
    progress.state = "running"
    spe = progress.seconds_per_epoch
    limit = STALL_BEFORE_FIRST_EPOCH_S if spe is None else max(STALL_AFTER_S, STALL_EPOCHS * spe)
    if progress.updated_s is not None and progress.updated_s > limit:
        progress.state = "stalled"
        rerun = (
            "resumes it from checkpoint.pt"
            if (cell_dir / CHECKPOINT_FILE).exists()
            else "starts it afresh"
        )
        progress.notes.append(
            f"silent for {duration(progress.updated_s)}: job gone? a rerun {rerun}"
        )
    elif log is None:
        progress.notes.append("no log yet")


def cell_progress(
    workdir: Path, cell: dict[str, Any], plan: Plan | None = None, now: float | None = None
) -> CellProgress:
    """Read one cell's files; never raises for a missing, partial or garbled file."""
    plan = plan or Plan()
    now = time.time() if now is None else now
    progress = CellProgress(cell=dict(cell))
    cell_dir = workdir / run_dir(cell)
    log_path = workdir / train_log(cell)
    files = [cell_dir / name for name in (METRICS_FILE, HISTORY_FILE, CHECKPOINT_FILE)]
    times = [t for t in map(_mtime, [*files, log_path]) if t is not None]
    if not times:
        progress.epochs = plan.epochs
        return progress  # waiting: no job has touched this cell yet
    progress.updated_s = max(0.0, now - max(times))
    metrics_path = cell_dir / METRICS_FILE
    if metrics_path.exists():
        metrics = _read_json(metrics_path)
        if metrics is not None:
            _done(progress, metrics, plan)
            return progress
        # metrics.json is written atomically, so this is a foreign or damaged file: show
        # what the other files say rather than fail the whole listing.
        progress.notes.append("metrics.json unreadable")
    log = _read_log(log_path) if log_path.exists() else None
    _in_progress(progress, cell_dir, log, plan)
    return progress


def grid_progress(
    workdir: str | Path = ".",
    configfiles: Sequence[str | Path] = (),
    datasets: Iterable[str] | None = None,
    now: float | None = None,
) -> list[CellProgress]:
    """The state of every cell of the configured grid, in config order."""
    workdir = Path(workdir)
    config = load_config(workdir, configfiles)
    now = time.time() if now is None else now
    return [
        cell_progress(workdir, cell, _plan(config["datasets"][cell["dataset"]], cell), now)
        for cell in grid(config, datasets)
    ]


# --- output --------------------------------------------------------------------------------


def duration(seconds: float | None) -> str:
    """``45s``, ``5m04s``, ``2h03m``, ``1d04h``: short, and wide enough to compare."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def _per_epoch(seconds: float | None) -> str:
    """``0.20s``, ``12.5s``, then ``1m45s``: never the exponent ``%g`` gives 1234 s."""
    if seconds is None:
        return "-"
    if seconds < 10:
        return f"{seconds:.2f}s"
    return f"{seconds:.1f}s" if seconds < 60 else duration(seconds)


def summary_line(cells: Sequence[CellProgress]) -> str:
    """``12 cells: 5 done, 2 running, 5 waiting`` (stalled/failed only when there are any)."""
    counts = {state: sum(c.state == state for c in cells) for state in STATES}
    parts = [f"{counts[s]} {s}" for s in STATES if counts[s] or s in ("done", "running", "waiting")]
    return f"{len(cells)} cells: {', '.join(parts)}"


def _row(c: CellProgress) -> list[str]:
    epoch = "-"
    if c.epoch is not None or c.state != "waiting":
        epoch = f"{c.epoch or 0}/{c.epochs if c.epochs is not None else '?'}"
        if c.batch is not None:
            epoch += f" (batch {c.batch[0]}/{c.batch[1]})"
    metric = "-"
    if c.metric and c.split:
        metric = f"{c.split} {c.metric} " + ("-" if c.value is None else f"{c.value:.4f}")
    speed = _per_epoch(c.seconds_per_epoch)
    eta = "-"
    if c.state in ("running", "stalled") and c.eta_s is not None:
        eta = ("≤" if c.eta_is_bound else "") + duration(c.eta_s)
    updated = "-" if c.updated_s is None else f"{duration(c.updated_s)} ago"
    return [c.state, c.name, epoch, metric, speed, eta, updated, "; ".join(c.notes)]


def format_table(cells: Sequence[CellProgress], states: Iterable[str] | None = None) -> str:
    """The summary line, then one aligned row per cell (of ``states``, if given)."""
    wanted = set(states) if states else set(STATES)
    header = ["state", "cell", "epoch", "metric", "s/epoch", "ETA", "updated", "note"]
    rows = [_row(c) for c in cells if c.state in wanted]
    lines = [summary_line(cells)]
    if rows:
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            lines.append("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    if any(c.eta_is_bound and c.state in ("running", "stalled") for c in cells):
        lines.append("≤: early stopping may end the run sooner")
    return "\n".join(lines)
