"""Aggregation: every run's metrics.json (and history.csv) into one flat table, runs.csv.

One row per run, diverged runs included (their test metrics are empty, not missing
rows). Column order is fixed (see :data:`LEADING_COLUMNS` and :func:`column_order`), so
two aggregations of the same runs give byte-identical files whatever the order of the
paths given. Rows are sorted by dataset, arch, optimizer, length, (fold,) seed.

Runs of a cross-validated dataset (``split.folds``) carry their ``fold``: the column
stands before ``seed`` when any run has one, and is empty for the runs of other datasets;
a table without such runs has no ``fold`` column at all.

Metric columns are named ``<split>_<metric>`` with the metric names of metrics.json
(``test_accuracy``, ``test_f1``, ``test_auc``, ``test_loss``, ``test_entity_f1``
(conlleval), ``test_strict_entity_f1`` (strict IOB2), ...), per NER entity type
``test_entity_f1_<TYPE>`` (conlleval); the majority-class baseline of the run's own
rows is ``majority_validation``/``majority_test``, with ``majority_on`` saying which
examples (e.g. "test, 1,000-example evaluation subsample (seed 0)"); every
hyperparameter as recorded by the training job is ``hp_<key>`` (``hp_lr`` the lr used;
``lr_tuned`` true when grid.tune selected it, ``lr_at_edge`` "lowest" or "highest" when
that lr is the smallest or largest of its candidates, ``lr_candidates`` the candidates,
space-separated). Each row also says where
and how its numbers were computed (:data:`PROVENANCE_COLUMNS`: execution path, device,
CPU model, TF32/AMP, versions).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from rnnbench.analysis.sanity import flag_run, join_flags
from rnnbench.errors import RnnbenchError
from rnnbench.experiment.tasks import TASKS
from rnnbench.io import atomic_path
from rnnbench.results import rerun_hint

log = logging.getLogger("rnnbench.analysis")

GRID_KEYS: tuple[str, ...] = ("dataset", "arch", "optimizer", "length", "seed")
FOLD = "fold"  # a grid key of cross-validated datasets only (see the module doc)
# The training-set size of a grid with grid.train_sizes (the spec's train_size): a column
# after ``length`` only when some run has one; empty for runs on the whole training split.
TRAIN_SIZE = "train_size"
# Memory task: the step that holds the sign (metrics.json's signal_index); a trailing
# column only when some run records one.
SIGNAL_INDEX = "signal_index"
SPLITS: tuple[str, ...] = ("validation", "test")
LEADING_COLUMNS: tuple[str, ...] = (
    "dataset",
    "task",
    "arch",
    "optimizer",
    "length",
    "seed",
    "status",
    "flags",
    "params",
    "epochs_run",
    "best_epoch",
    "stopped_early",
    "diverged_epoch",
    "seconds_per_epoch",
    "samples_per_second",
    "initial_loss",
    "final_train_loss",
    "headline_metric",
    "test_headline",
)
# Metric columns in this order (then any other metric, alphabetically): the tasks' own
# (Task.test_metrics, sentiment's, then NER's, then memory's), so sentiment, NER and
# memory columns read the same way in every file.
METRIC_ORDER: tuple[str, ...] = tuple(
    dict.fromkeys(metric for task in TASKS.values() for metric in task.test_metrics)
)
TRAILING_COLUMNS: tuple[str, ...] = (
    "majority_label",
    "majority_validation",
    "majority_test",
    "majority_on",
    "train_classes",
)
# Where and how each run computed (metrics.json's hardware and versions, flattened):
# exec_path is what ran the recurrent layers (e.g. "compiled kernels", "torch module
# (oneDNN)", "cuDNN", "Python loops"), device_name the GPU's name on a GPU and the CPU
# model's otherwise; tf32_* and amp_dtype are empty on a CPU. Empty for runs whose
# metrics.json predates a field.
PROVENANCE_COLUMNS: tuple[str, ...] = (
    "exec_path",
    "device",
    "device_name",
    "cpu_model",
    "tf32_matmul",
    "tf32_cudnn",
    "amp_dtype",
    "python_version",
    "torch_version",
    "numpy_version",
    "rnnbench_version",
    "cudnn_version",
)
INTEGER_COLUMNS: tuple[str, ...] = (
    "length",
    "seed",
    "params",
    "epochs_run",
    "best_epoch",
    "diverged_epoch",
    "train_classes",
)
HP_PREFIX = "hp_"
# Training keys added after runs were recorded without them, with the value those runs
# trained with: a results directory that mixes older and newer runs is not split by them.
HPARAMS_OF_OLDER_RUNS: dict[str, Any] = {"batching": "shuffled"}
LR_TUNED = "lr_tuned"
# A tuned lr at the edge of its candidates: "lowest" / "highest" ("" inside, untuned, or
# a single candidate); the best lr may lie beyond it.
LR_AT_EDGE = "lr_at_edge"
LR_CANDIDATES = "lr_candidates"
PER_TYPE_PREFIX = "test_entity_f1_"


class AnalysisError(RnnbenchError):
    """An input of the analysis stage is missing or malformed; the message names it."""


def load_metrics(path: str | Path) -> dict[str, Any]:
    """A metrics.json, checked for the keys aggregation needs."""
    p = Path(path)
    try:
        with open(p, encoding="utf-8") as handle:
            metrics = json.load(handle)
    except FileNotFoundError:
        raise AnalysisError(f"{p}: metrics file not found (did the training job finish?)") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise AnalysisError(
            f"{p}: damaged metrics file, not valid JSON ({err}): truncated or overwritten "
            f"after its training job finished; {rerun_hint([str(p)])}"
        ) from None
    except OSError as err:
        raise AnalysisError(f"{p}: cannot read metrics file: {err}") from None
    if not isinstance(metrics, dict):
        raise AnalysisError(f"{p}: metrics file must hold a JSON object")
    missing = [key for key in ("status", "spec", "task", "headline_metric") if key not in metrics]
    spec = metrics.get("spec")
    if isinstance(spec, dict):
        missing += [f"spec.{key}" for key in GRID_KEYS if key not in spec]
    elif "spec" not in missing:
        missing.append("spec (not an object)")
    if missing:
        raise AnalysisError(f"{p}: metrics file lacks {missing}; is it a training job's output?")
    return metrics


def load_history(run_dir: str | Path) -> pd.DataFrame | None:
    """history.csv beside metrics.json, or None when absent or unreadable (it is optional:
    without it the stuck check falls back to final_train_loss)."""
    path = Path(run_dir) / "history.csv"
    if not path.exists():
        return None
    try:
        return pd.read_csv(path)
    except (OSError, ValueError) as err:
        log.warning("%s: unreadable history (%s); using final_train_loss only", path, err)
        return None


def _scalars(metrics: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (metrics or {}).items() if not isinstance(v, dict | list)}


def provenance(metrics: dict[str, Any]) -> dict[str, Any]:
    """The PROVENANCE_COLUMNS of one run, from metrics.json's hardware and versions."""
    hardware = metrics.get("hardware") or {}
    versions = metrics.get("versions") or {}
    tf32 = hardware.get("tf32") or {}
    device_name = hardware.get("device_name")
    if device_name is None:  # a metrics.json from before device_name was recorded
        device_name = hardware.get("gpu") or hardware.get("cpu_model")
    row = {
        "exec_path": hardware.get("exec_path"),
        "device": hardware.get("device"),
        "device_name": device_name,
        "cpu_model": hardware.get("cpu_model"),
        "tf32_matmul": tf32.get("matmul"),
        "tf32_cudnn": tf32.get("cudnn"),
        "amp_dtype": hardware.get("amp_dtype"),
    }
    for name in ("python", "torch", "numpy", "rnnbench", "cudnn"):
        row[f"{name}_version"] = versions.get(name)
    return row


def run_row(
    metrics: dict[str, Any],
    run_dir: str,
    history: pd.DataFrame | None = None,
    card: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The runs.csv row of one run (unordered; :func:`collect_runs` orders columns);
    ``card`` is its dataset's data card."""
    spec = metrics["spec"]
    headline = metrics["headline_metric"]
    test = metrics.get("test")
    majority = metrics.get("majority_baseline") or {}
    counts = metrics.get("train_label_counts")
    row: dict[str, Any] = {key: spec[key] for key in GRID_KEYS}
    if spec.get(FOLD) is not None:
        row[FOLD] = spec[FOLD]
    if spec.get(TRAIN_SIZE) is not None:
        row[TRAIN_SIZE] = spec[TRAIN_SIZE]
    if metrics.get(SIGNAL_INDEX) is not None:
        row[SIGNAL_INDEX] = metrics[SIGNAL_INDEX]
    row.update(
        {
            "task": metrics["task"],
            "status": metrics["status"],
            "flags": join_flags(flag_run(metrics, history, card)),
            "headline_metric": headline,
            "test_headline": (test or {}).get(headline),
            "majority_label": majority.get("label"),
            "majority_validation": majority.get("validation"),
            "majority_test": majority.get("test"),
            "majority_on": majority.get("evaluated_on"),
            "train_classes": len(counts) if isinstance(counts, dict) else None,
            "run_dir": run_dir,
        }
    )
    row.update(provenance(metrics))
    for key in LEADING_COLUMNS:
        if key not in row:
            row[key] = metrics.get(key)
    for split in SPLITS:
        for name, value in _scalars(metrics.get(split)).items():
            row[f"{split}_{name}"] = value
    for name, scores in sorted(((test or {}).get("per_type") or {}).items()):
        row[f"{PER_TYPE_PREFIX}{name}"] = scores.get("f1")
    for key, value in {**HPARAMS_OF_OLDER_RUNS, **(metrics.get("hparams") or {})}.items():
        row[f"{HP_PREFIX}{key}"] = value
    # hp_lr is the lr used; lr_tuned says it was selected by tuning (rnnbench.experiment.tuning).
    row[LR_TUNED] = bool(metrics.get("lr_tuning"))
    row[LR_AT_EDGE], row[LR_CANDIDATES] = lr_edge(metrics.get("lr_tuning"))
    return row


def lr_edge(tuning: dict[str, Any] | None) -> tuple[str, str]:
    """``(edge, candidates)`` of a run's ``lr_tuning`` record (metrics.json): edge is
    "lowest" or "highest" when the selected lr is the smallest or largest of two or more
    candidates, else ""; candidates as space-separated text ("" when not tuned)."""
    if not isinstance(tuning, dict):
        return "", ""
    candidates = sorted(float(c) for c in tuning.get("candidates") or [])
    shown = " ".join(f"{c:g}" for c in candidates)
    selected = tuning.get("selected_lr")
    if len(candidates) < 2 or not isinstance(selected, int | float):
        return "", shown
    if float(selected) == candidates[0]:
        return "lowest", shown
    if float(selected) == candidates[-1]:
        return "highest", shown
    return "", shown


def _metric_rank(name: str) -> tuple[int, str]:
    return (METRIC_ORDER.index(name), "") if name in METRIC_ORDER else (len(METRIC_ORDER), name)


def column_order(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Leading columns, then validation_* and test_* metrics in METRIC_ORDER, per-type
    entity F1 (by type), majority baseline, provenance (PROVENANCE_COLUMNS), hp_*
    (first-seen order over the sorted rows), run_dir."""
    keys: dict[str, None] = {}
    for row in rows:
        keys.update(dict.fromkeys(row))
    metric_cols = []
    for split in SPLITS:
        names = [
            k.removeprefix(f"{split}_")
            for k in keys
            if k.startswith(f"{split}_")
            and k not in LEADING_COLUMNS
            and not k.startswith(PER_TYPE_PREFIX)
        ]
        metric_cols += [f"{split}_{n}" for n in sorted(names, key=_metric_rank)]
    per_type = sorted(k for k in keys if k.startswith(PER_TYPE_PREFIX))
    hparams = [k for k in keys if k.startswith(HP_PREFIX)]
    leading = list(LEADING_COLUMNS)
    if TRAIN_SIZE in keys:
        leading.insert(leading.index("length") + 1, TRAIN_SIZE)
    if FOLD in keys:
        leading.insert(leading.index("seed"), FOLD)
    return [
        *leading,
        *metric_cols,
        *per_type,
        *TRAILING_COLUMNS,
        *([SIGNAL_INDEX] if SIGNAL_INDEX in keys else []),
        *PROVENANCE_COLUMNS,
        *hparams,
        LR_TUNED,
        LR_AT_EDGE,
        LR_CANDIDATES,
        "run_dir",
    ]


def _sort_key(row: dict[str, Any]) -> tuple:
    def part(value: Any) -> tuple[int, Any]:
        # Numbers sort numerically (length 50 before 100), anything else as text.
        if isinstance(value, int | float) and not isinstance(value, bool):
            return (0, float(value)) if math.isfinite(float(value)) else (1, "")
        return (1, str(value))

    keys = (
        *(part(row[key]) for key in GRID_KEYS[:-1]),
        part(row.get(TRAIN_SIZE, math.inf)),  # the whole split after every subset
        part(row.get(FOLD, -1)),
    )
    return (*keys, part(row["seed"]), str(row["run_dir"]))


def load_datacards(paths: Iterable[str | Path]) -> dict[str, dict[str, Any]]:
    """``{dataset: data card}`` of the given datacard.json files (the sanity gate's
    ``leakage`` flag and the summary read them)."""
    cards = {}
    for path in paths:
        try:
            card = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise AnalysisError(f"{path}: cannot read the data card: {err}") from None
        if not isinstance(card, dict) or "dataset" not in card:
            raise AnalysisError(f"{path}: not a data card (no `dataset` key)")
        cards[str(card["dataset"])] = card
    return cards


def collect_runs(
    metrics_paths: Iterable[str | Path], cards: Mapping[str, Mapping[str, Any]] | None = None
) -> pd.DataFrame:
    """One row per metrics.json (see the module doc); ``cards`` the data cards by dataset
    (a leaking dataset's runs are flagged ``leakage``). Raises AnalysisError naming a file
    that is missing or malformed."""
    rows = []
    for path in metrics_paths:
        metrics = load_metrics(path)
        run_dir = str(Path(path).parent)
        card = (cards or {}).get(str(metrics["spec"].get("dataset")))
        rows.append(run_row(metrics, run_dir, load_history(run_dir), card))
    rows.sort(key=_sort_key)
    frame = pd.DataFrame(rows, columns=column_order(rows))
    optional = [c for c in (FOLD, TRAIN_SIZE, SIGNAL_INDEX) if c in frame]
    for column in (*INTEGER_COLUMNS, *optional):
        # Nullable integers: a diverged run's best_epoch is empty, not "1.0" elsewhere.
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("Int64")
    for column in ("flags", "status", LR_AT_EDGE, LR_CANDIDATES):
        frame[column] = frame[column].fillna("").astype(str)
    return frame


def write_runs_csv(
    metrics_paths: Iterable[str | Path],
    out_csv: str | Path,
    cards: Mapping[str, Mapping[str, Any]] | None = None,
) -> pd.DataFrame:
    """Collect the runs and write them atomically to ``out_csv``; return the table."""
    frame = collect_runs(metrics_paths, cards)
    with atomic_path(out_csv) as tmp:
        frame.to_csv(tmp, index=False)
    flagged = int((frame["flags"] != "").sum())
    log.info("runs.csv: %d runs, %d flagged -> %s", len(frame), flagged, out_csv)
    return frame


def read_runs_csv(path: str | Path) -> pd.DataFrame:
    """runs.csv as written by :func:`write_runs_csv` (flags as text, "" when none)."""
    p = Path(path)
    try:
        frame = pd.read_csv(p)
    except FileNotFoundError:
        raise AnalysisError(f"{p}: runs table not found") from None
    except (OSError, ValueError) as err:
        raise AnalysisError(f"{p}: cannot read runs table: {err}") from None
    missing = [c for c in ("dataset", "arch", "test_headline", "flags") if c not in frame.columns]
    if missing:
        raise AnalysisError(f"{p}: runs table lacks column(s) {missing}")
    for column in ("flags", LR_AT_EDGE, LR_CANDIDATES):
        if column in frame:  # all-empty: read as float
            frame[column] = frame[column].astype(object).fillna("").astype(str)
    return frame
