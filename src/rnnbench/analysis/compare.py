"""Per-dataset comparison table: grid cells grouped over seeds, baselines alongside.

A cell is one (arch, optimizer, length, hyperparameters) combination; its seeds give
the mean, SD and t confidence interval of the headline test metric. Only the parameters
that vary within the dataset are columns (DVC's ``exp show --only-changed``); ``arch``
is always kept because it names the row, baselines included. When grid.tune chose a
cell's lr, a ``tuned_lr`` column gives it (empty for cells at their configured lr), and
``lr_edge`` says when that lr is the lowest or highest of its candidates (the best lr may
lie beyond the range: widen it); the table's notes say so too.

Ranking: a cell with any flagged run (see :mod:`rnnbench.analysis.sanity`) is never
"best", nor is a cell with fewer than 2 scored seeds (no variance, no test); among the
others the highest mean is "best", and a cell with 2+ scored seeds whose Welch test
against it gives p >= alpha is "not significantly worse" (see :func:`stats.mark_best`).
Rows are sorted by mean, highest first, so a flagged high scorer (seed C's "99%") sits
on top, visibly flagged and unranked, rather than disappearing.

For the memory task each cell also gives the fraction of its seeds that solve it (test
accuracy >= stats.SOLVED_ACCURACY), e.g. "2/3 solved (acc >= 0.9)". Each cell names the
execution path(s) and machine(s) its runs computed on (runs.csv's exec_path and
device_name), and the table's ``attrs["notes"]`` (printed above the HTML table) say when
its rows mix machines or recurrent execution paths: timings, and the last digits of the
scores, are then not like for like.

This module computes the table; :mod:`rnnbench.analysis.compare_page` formats it and
writes it (CSV and HTML page).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd

from rnnbench.analysis import stats
from rnnbench.analysis.baselines import baseline_rows
from rnnbench.analysis.collect import (
    HP_PREFIX,
    LR_AT_EDGE,
    LR_CANDIDATES,
    LR_TUNED,
    AnalysisError,
)
from rnnbench.analysis.formats import fmt_value, missing
from rnnbench.analysis.sanity import union_flags
from rnnbench.experiment.tasks import reports_solved
from rnnbench.names import EXEC_NO_RECURRENCE

GRID_COLUMNS: tuple[str, ...] = ("arch", "optimizer", "length", "train_size")
# Recorded hparams that describe where a run ran, not what was run: grouping on them
# would split one cell's seeds (e.g. some on CPU, some on GPU) into separate rows.
NON_GROUPING_HPARAMS: frozenset[str] = frozenset({"hp_device"})
# Defaults the optimizer (weight decay, momentum) or the architecture (gradient clipping)
# fills in: columns only where they vary within one arch x optimizer (varying_columns).
DERIVED_HPARAMS: frozenset[str] = frozenset({"hp_weight_decay", "hp_momentum", "hp_clip_norm"})
BASELINE_PREFIX = "baseline: "
# The lr grid.tune selected for a cell (empty for a cell trained at its configured lr).
TUNED_LR = "tuned_lr"
KIND_MODEL, KIND_BASELINE = "model", "baseline"
STAT_COLUMNS: tuple[str, ...] = (
    "n_seeds",
    "n_scored",
    "metric",
    "mean",
    "solved",
    "dependency_steps",
    "reach",
    "sd",
    "ci_low",
    "ci_high",
    "p_vs_best",
    "mark",
    "rank",
    "lr_edge",
    "lr_candidates",
    "flags",
    "flagged_runs",
    "params",
    "seconds_per_epoch",
    "exec_path",
    "device_name",
    "kind",
    "evaluated_on",
)
# How the table's notes (attrs["notes"]) begin.
MACHINES_NOTE = "cells ran on"
FOLDS_NOTE = "k-fold cross-validation"
PATHS_NOTE = "execution paths differ"
EDGE_NOTE = "at the edge of its candidates"
LR_KEYS = ("hp_lr", TUNED_LR)
# A baseline group's fields and the table columns they fill when those columns are shown.
BASELINE_KEYS: dict[str, str] = {
    "length": "length",
    "train_size": "train_size",
    "train_subsample": "hp_train_subsample",
    "eval_subsample": "hp_eval_subsample",
}


def varying_columns(runs: pd.DataFrame) -> list[str]:
    """Grid and hp_ columns that take more than one value (NaN counts as a value), less the
    defaults an optimizer or architecture fills in (:data:`DERIVED_HPARAMS`) where each
    arch x optimizer has one value: AdamW's weight decay 0.01 beside Adam's 0 says
    nothing the optimizer column does not."""
    candidates = [c for c in GRID_COLUMNS if c in runs.columns]
    candidates += [
        c for c in runs.columns if c.startswith(HP_PREFIX) and c not in NON_GROUPING_HPARAMS
    ]
    varying = [c for c in candidates if runs[c].nunique(dropna=False) > 1]
    by = [c for c in ("arch", "optimizer") if c in runs.columns]
    return [c for c in varying if not (c in DERIVED_HPARAMS and by and _determined(runs, c, by))]


def _determined(runs: pd.DataFrame, column: str, by: list[str]) -> bool:
    """Whether ``column`` has one value within every group of ``by``."""
    counts = runs.groupby(by, dropna=False)[column].nunique(dropna=False)
    return bool((counts <= 1).all())


def _lr_tuned(runs: pd.DataFrame) -> pd.Series:
    """runs.csv's lr_tuned as booleans (False where absent)."""
    if LR_TUNED not in runs or "hp_lr" not in runs:
        return pd.Series(False, index=runs.index)
    return runs[LR_TUNED].astype(str).str.lower().isin(["true", "1"])


def with_tuned_lr(runs: pd.DataFrame) -> pd.DataFrame:
    """``runs`` with a ``tuned_lr`` column (the selected lr, NaN for a cell at its
    configured lr) when any run's lr was tuned; unchanged otherwise."""
    tuned = _lr_tuned(runs)
    if not tuned.any():
        return runs
    return runs.assign(**{TUNED_LR: pd.to_numeric(runs["hp_lr"], errors="coerce").where(tuned)})


def _unused_model_keys(runs: pd.DataFrame) -> set[str]:
    """hp_ columns of model keys that no architecture of these runs has (every run records
    every registered model key; a CNN's conv_kernel says nothing about an LSTM's cell)."""
    from rnnbench import registry

    try:
        configs = [registry.get(str(arch)).config for arch in runs["arch"].dropna().unique()]
    except registry.ModelConfigError:  # an arch from a module not loaded here: keep all
        return set()
    used = {f.name for config in configs for f in dataclasses.fields(config)}
    return {f"{HP_PREFIX}{key}" for key in registry.model_keys() if key not in used}


def constant_settings(runs: pd.DataFrame) -> dict[str, Any]:
    """The grid and hp_ values every run of the table shares (the caption's setting)."""
    candidates = [c for c in (*GRID_COLUMNS, "arch") if c in runs.columns]
    unused = _unused_model_keys(runs) if "arch" in runs else set()
    candidates += [
        c
        for c in runs.columns
        if c.startswith(HP_PREFIX) and c not in NON_GROUPING_HPARAMS and c not in unused
    ]
    out = {}
    for column in dict.fromkeys(candidates):
        values = runs[column].dropna().unique()
        if runs[column].nunique(dropna=False) == 1 and len(values) == 1:
            value = values[0]
            out[column] = value.item() if hasattr(value, "item") else value
    return out


def _first(series: pd.Series) -> Any:
    return series.iloc[0] if len(series) else math.nan


def _distinct(series: pd.Series | None) -> list[str]:
    """The distinct recorded values (empty and NaN dropped), sorted."""
    if series is None:
        return []
    return sorted({str(v) for v in series.dropna().tolist() if str(v) != ""})


def _dependency(group: pd.DataFrame) -> tuple[Any, str]:
    """A memory cell's dependency in steps (stats.dependency_steps) and, for a
    bidirectional arch, its mark (stats.reach_text); (NA, "") for other tasks."""
    if "task" not in group or not reports_solved(group["task"]):
        return pd.NA, ""
    arch, length = str(_first(group["arch"])), _first(group["length"])
    index = _first(group["signal_index"]) if "signal_index" in group else None
    steps = None if missing(length) else stats.dependency_steps(arch, int(length), index)
    return (pd.NA if steps is None else steps), stats.reach_text(arch, steps)


def provenance_notes(runs: pd.DataFrame, labels: pd.Series) -> list[str]:
    """Sentences for a table whose rows do not all come from one machine or one execution
    path; empty when they do (or nothing is recorded).

    ``runs`` has runs.csv's device_name and exec_path; ``labels`` names each run's cell
    (same index). Models without a recurrent layer have one path only and are left out
    of the execution-path comparison.
    """
    notes = []
    for column, ignore in (("device_name", None), ("exec_path", EXEC_NO_RECURRENCE)):
        if column not in runs:
            continue
        values = runs[column].where(runs[column].astype(str) != ignore) if ignore else runs[column]
        distinct = _distinct(values)
        if len(distinct) < 2:
            continue
        parts = []
        for value in distinct:
            cells = list(dict.fromkeys(labels[values.astype(str) == value].tolist()))
            parts.append(f"{value} ({', '.join(cells)})")
        mixed = [
            str(label)
            for label, group in values.groupby(labels, sort=False)
            if len(_distinct(group)) > 1
        ]
        if column == "device_name":
            head = f"{MACHINES_NOTE} {len(distinct)} machines: "
        else:
            head = f"{PATHS_NOTE} (what ran the recurrent layers): "
        note = head + "; ".join(parts)
        if mixed:
            note += f"; the seeds of {', '.join(mixed)} differ within the cell"
        notes.append(note + ".")
    return notes


def _lr_edge(group: pd.DataFrame) -> dict[str, str]:
    """A tuned cell's ``lr_edge`` ("lowest" / "highest" / "") and ``lr_candidates``
    (runs.csv's lr_at_edge and lr_candidates; one selection serves all its seeds)."""
    out = {}
    for column, name in ((LR_AT_EDGE, "lr_edge"), (LR_CANDIDATES, "lr_candidates")):
        values = _distinct(group[column]) if column in group else []
        out[name] = values[0] if len(values) == 1 else ""
    return out


def edge_notes(cells: list[dict[str, Any]], keys: list[str]) -> list[str]:
    """One sentence naming every tuned cell whose selected lr is the lowest or highest of
    its candidates: the best lr may lie beyond them; empty when none is."""
    at_edge = [c for c in cells if c.get("lr_edge")]
    if not at_edge:
        return []
    parts = [
        f"{'/'.join(fmt_value(c[k], k) for k in keys if k not in LR_KEYS and not missing(c[k]))} "
        f"lr {fmt_value(c[TUNED_LR], TUNED_LR)} ({c['lr_edge']} of "
        f"{c['lr_candidates'].replace(' ', ', ')})"
        for c in at_edge
    ]
    return [f"tuned lr {EDGE_NOTE}: widen the range: {'; '.join(parts)}."]


def fold_notes(runs: pd.DataFrame) -> list[str]:
    """The sentence for a cross-validated dataset (runs.csv's ``fold``): each cell pools
    its folds as it pools its seeds; empty for other datasets."""
    if "fold" not in runs:
        return []
    folds = pd.to_numeric(runs["fold"], errors="coerce").dropna().nunique()
    if not folds:
        return []
    seeds = pd.to_numeric(runs["seed"], errors="coerce").dropna().nunique()
    return [
        f"{FOLDS_NOTE}: each cell pools {folds} folds x {seeds} seed(s), n = "
        f"{folds * seeds} runs (the seeds column counts runs; mean, SD, interval and tests "
        "are over them)."
    ]


def _dataset_runs(runs: pd.DataFrame, dataset: str) -> tuple[pd.DataFrame, str]:
    """``dataset``'s runs and its one headline metric; an AnalysisError when it has no
    runs or mixes headline metrics."""
    sub = runs[runs["dataset"] == dataset]
    if sub.empty:
        known = sorted(runs["dataset"].dropna().unique().tolist()) if "dataset" in runs else []
        raise AnalysisError(f"no runs for dataset {dataset!r} (runs hold {known})")
    headlines = sub["headline_metric"].dropna().unique().tolist()
    if len(headlines) > 1:
        raise AnalysisError(f"dataset {dataset!r} mixes headline metrics {headlines}")
    return sub, headlines[0] if headlines else "headline"


def _model_cell(
    group: pd.DataFrame, keys: list[str], metric: str, confidence: float
) -> tuple[dict[str, Any], list[float]]:
    """One grid cell's row (its seeds pooled) and its seeds' test headline scores."""
    values = pd.to_numeric(group["test_headline"], errors="coerce").tolist()
    mean, sd, lo, hi = stats.mean_sd_ci(values, confidence)
    flags, n_flagged = union_flags(group["flags"].tolist())
    params = pd.to_numeric(group["params"], errors="coerce").dropna()
    seconds = pd.to_numeric(group["seconds_per_epoch"], errors="coerce").dropna()
    cell = {key: _first(group[key]) for key in keys}
    steps, reach = _dependency(group)
    cell.update(
        {
            "n_seeds": len(group),
            "n_scored": int(stats.finite(values).size),
            "metric": metric,
            "mean": mean,
            "solved": stats.cell_solved_text(group),
            "dependency_steps": steps,
            "reach": reach,
            "sd": sd,
            "ci_low": lo,
            "ci_high": hi,
            "flags": flags,
            "flagged_runs": n_flagged,
            # A cell's seeds share one architecture, hence one parameter count.
            "params": int(params.iloc[0]) if len(params) else pd.NA,
            "seconds_per_epoch": float(seconds.mean()) if len(seconds) else math.nan,
            "exec_path": "; ".join(_distinct(group.get("exec_path"))),
            "device_name": "; ".join(_distinct(group.get("device_name"))),
            "kind": KIND_MODEL,
            **_lr_edge(group),
        }
    )
    return cell, values


def _rank_cells(
    cells: list[dict[str, Any]],
    scores: dict[int, list[float]],
    flagged: list[int],
    *,
    alpha: float,
    alternative: str,
) -> None:
    """Mark (stats.mark_best), p value and rank each cell in place."""
    marks = stats.mark_best(scores, flagged, alpha=alpha, alternative=alternative)
    # Rank among unflagged cells only (a flagged cell has no rank, so seed C's "99%"
    # can never read as rank 1); equal means share a rank.
    ranked = [
        c["mean"] for i, c in enumerate(cells) if i not in flagged and math.isfinite(c["mean"])
    ]
    for i, cell in enumerate(cells):
        cell["mark"] = marks[i].mark
        cell["p_vs_best"] = marks[i].p_value
        eligible = i not in flagged and math.isfinite(cell["mean"])
        cell["rank"] = 1 + sum(m > cell["mean"] for m in ranked) if eligible else pd.NA


def _baseline_cells(
    baselines: dict[str, Any] | None, metric: str, keys: list[str]
) -> list[dict[str, Any]]:
    """One row per baseline and group of examples (analysis.baselines): the rows the
    models of those settings saw; the group's settings fill the shown columns."""
    rows = []
    for base in baseline_rows(baselines):
        row = {
            "arch": f"{BASELINE_PREFIX}{base['name']}",
            "n_seeds": len(base["seeds"]) or pd.NA,
            "metric": metric,
            "mean": base["score"],
            "solved": "",
            "mark": "",
            "flags": "",
            "exec_path": "",
            "device_name": "",
            "kind": KIND_BASELINE,
            "evaluated_on": base["evaluated_on"],
        }
        row.update({col: base[key] for key, col in BASELINE_KEYS.items() if col in keys})
        rows.append(row)
    return rows


def _typed_table(cells: list[dict[str, Any]], keys: list[str]) -> pd.DataFrame:
    """The rows as a DataFrame, counts (and lengths) as nullable integers."""
    table = pd.DataFrame(cells, columns=[*keys, *STAT_COLUMNS])
    for column in ("n_seeds", "n_scored", "rank", "flagged_runs", "params", "dependency_steps"):
        table[column] = pd.to_numeric(table[column], errors="coerce").astype("Int64")
    if "length" in table.columns:
        table["length"] = pd.to_numeric(table["length"], errors="coerce").astype("Int64")
    return table


def comparison_table(
    runs: pd.DataFrame,
    dataset: str,
    baselines: dict[str, Any] | None = None,
    *,
    confidence: float = 0.95,
    alpha: float = stats.ALPHA,
    alternative: str = stats.DEFAULT_ALTERNATIVE,
) -> pd.DataFrame:
    """The comparison table of ``dataset`` (see the module doc).

    ``runs`` is runs.csv (collect_runs); ``baselines`` a compute_baselines result whose
    test headline scores become rows ``arch = "baseline: <name>"``. The table's
    ``attrs`` record the dataset, headline metric and the test settings for the HTML.
    """
    sub, headline = _dataset_runs(runs, dataset)
    metric = f"test {headline}"
    shown = varying_columns(sub)
    keys = ["arch", *[c for c in shown if c != "arch"]]
    sub = with_tuned_lr(sub)
    if TUNED_LR in sub:  # a tuned cell says so: its selected lr in a column of its own
        keys.append(TUNED_LR)
    cells: list[dict[str, Any]] = []
    scores: dict[int, list[float]] = {}
    flagged: list[int] = []
    labels = pd.Series("", index=sub.index, dtype=object)
    for i, (key, group) in enumerate(sub.groupby(keys, dropna=False, sort=False)):
        parts = key if isinstance(key, tuple) else (key,)
        labels[group.index] = "/".join(fmt_value(v) for v in parts)
        cell, scores[i] = _model_cell(group, keys, metric, confidence)
        cells.append(cell)
        if cell["flagged_runs"]:
            flagged.append(i)
    _rank_cells(cells, scores, flagged, alpha=alpha, alternative=alternative)
    # Highest mean first; NaN (no scored seed) last; ties keep the grid order.
    cells.sort(key=lambda c: (not math.isfinite(c["mean"]), -np.nan_to_num(c["mean"])))
    cells += _baseline_cells(baselines, metric, keys)
    table = _typed_table(cells, keys)
    table.attrs.update(
        {
            "dataset": dataset,
            "headline_metric": headline,
            "confidence": confidence,
            "alpha": alpha,
            "alternative": alternative,
            "parameters": keys,
            "notes": fold_notes(sub) + edge_notes(cells, keys) + provenance_notes(sub, labels),
            "setting": constant_settings(sub),
        }
    )
    return table
