"""Every path the workflow writes, and every output file name, defined once.

A run directory is ``results/runs/<dataset>/`` followed by one segment per grid dimension
the cell has (:data:`rnnbench.experiment.grid.DIMENSIONS`, in path order); its log and
benchmark mirror it under ``logs/train/`` and ``benchmarks/train/``. The templates are
``str.format`` templates whose fields are the cell's keys (Snakemake's wildcards).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rnnbench.experiment.grid import DIMENSIONS, layouts

# What `rnnbench train` writes into a run directory (checkpoint.pt is deleted at the end).
METRICS_FILE = "metrics.json"
HISTORY_FILE = "history.csv"
MODEL_FILE = "model.pt"
CHECKPOINT_FILE = "checkpoint.pt"
RUN_OUTPUTS: tuple[str, ...] = (METRICS_FILE, HISTORY_FILE, MODEL_FILE)
# A tuned cell's selection (rnnbench.experiment.tuning), beside its trials.
SELECTED_FILE = "selected.json"

RUNS = "results/runs"
TUNE = "results/tune"
PREPARED = "results/prepared"
BASELINES = "results/baselines"
SUMMARY = "results/summary"
RUNS_CSV = f"{SUMMARY}/runs.csv"
SPLITS: tuple[str, ...] = ("train", "validation", "test")


def cell_template(root: str, keys: Iterable[str], suffix: str = "") -> str:
    """``root/{dataset}/<one segment per key>`` + ``suffix``: a run directory
    (``results/runs``), its log (``logs/train``, ``.log``), its benchmark, ..."""
    keys = set(keys)
    segments = [dim.segment for dim in DIMENSIONS if dim.key in keys]
    unknown = keys - {dim.key for dim in DIMENSIONS} - {"dataset"}
    if unknown:
        raise ValueError(f"no grid dimension {sorted(unknown)}")
    return "/".join([root, "{dataset}", *segments]) + suffix


def layout(cell: Mapping[str, Any]) -> tuple[str, ...]:
    """The grid keys a cell has, in path order (absent optional dimensions left out)."""
    return tuple(dim.key for dim in DIMENSIONS if cell.get(dim.key) is not None)


def run_dir(cell: Mapping[str, Any]) -> str:
    """A cell's run directory (relative to the working directory)."""
    return cell_template(RUNS, layout(cell)).format(**cell)


def train_log(cell: Mapping[str, Any]) -> str:
    """The training job's log of a cell (its stderr; rnnbench progress reads it)."""
    return cell_template("logs/train", layout(cell), ".log").format(**cell)


def run_metrics_globs() -> list[str]:
    """Glob patterns that match every run's metrics.json on disk, of every layout the
    grid can produce (rule summarize_all collects them whatever config trained them)."""
    patterns = {
        cell_template(RUNS, keys).format_map(_Star()) + f"/{METRICS_FILE}" for keys in layouts()
    }
    return sorted(patterns)


class _Star(dict):
    def __missing__(self, key: str) -> str:
        return "*"


# --- tuning ---------------------------------------------------------------------------


def tune_template(keys: Iterable[str], suffix: str = "") -> str:
    """A tuned cell's directory (its trials and selection), keys = the tuned identity."""
    return cell_template(TUNE, keys, suffix)


# --- the data stage -------------------------------------------------------------------


def prepared_dir(dataset: str, fold: int | str | None = None) -> str:
    """Where a dataset's prepared files live; a cross-validated dataset's fold has its own
    (fold ``i`` is the test set, its vocabulary is built on that fold's training part)."""
    base = f"{PREPARED}/{dataset}"
    return base if fold is None else f"{base}/fold{fold}"


def split_file(base: str, split: str) -> str:
    return f"{base}/split/{split}.jsonl"


def tokens_file(base: str, split: str) -> str:
    return f"{base}/tokens/{split}.jsonl"


def vocab_file(base: str) -> str:
    return f"{base}/vocab.json"


def encoded_file(base: str, length: int | str) -> str:
    return f"{base}/len{length}.npz"


def datacard_file(dataset: str) -> str:
    return f"{PREPARED}/{dataset}/datacard.json"


def baselines_file(dataset: str, fold: int | str | None = None) -> str:
    return (
        f"{BASELINES}/{dataset}.json" if fold is None else f"{BASELINES}/{dataset}/fold{fold}.json"
    )
