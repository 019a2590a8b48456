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
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
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
from rnnbench.analysis.formats import (
    fmt_ci,
    fmt_float,
    fmt_int,
    fmt_value,
    missing,
    setting_text,
    text,
)
from rnnbench.analysis.htmlpage import page, styled_table
from rnnbench.analysis.sanity import union_flags
from rnnbench.io import atomic_path, write_text_atomic
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
    if "task" not in group or (group["task"] != stats.MEMORY_TASK).any():
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
    sub = runs[runs["dataset"] == dataset]
    if sub.empty:
        known = sorted(runs["dataset"].dropna().unique().tolist()) if "dataset" in runs else []
        raise AnalysisError(f"no runs for dataset {dataset!r} (runs hold {known})")
    headlines = sub["headline_metric"].dropna().unique().tolist()
    if len(headlines) > 1:
        raise AnalysisError(f"dataset {dataset!r} mixes headline metrics {headlines}")
    headline = headlines[0] if headlines else "headline"
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
        cells.append(cell)
        scores[i] = values
        if n_flagged:
            flagged.append(i)

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

    # Highest mean first; NaN (no scored seed) last; ties keep the grid order.
    cells.sort(key=lambda c: (not math.isfinite(c["mean"]), -np.nan_to_num(c["mean"])))
    # One row per baseline and group of examples (analysis.baselines): the rows the
    # models of those settings saw; the group's settings fill the shown columns.
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
        cells.append(row)

    table = pd.DataFrame(cells, columns=[*keys, *STAT_COLUMNS])
    for column in ("n_seeds", "n_scored", "rank", "flagged_runs", "params", "dependency_steps"):
        table[column] = pd.to_numeric(table[column], errors="coerce").astype("Int64")
    if "length" in table.columns:
        table["length"] = pd.to_numeric(table["length"], errors="coerce").astype("Int64")
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


# --- output ----------------------------------------------------------------------------

_MARKS = {stats.MARK_BEST: "\u2605 best", stats.MARK_NOT_WORSE: "\u2248 not sig. worse"}
_ROW_CLASS = {stats.MARK_BEST: "best", stats.MARK_NOT_WORSE: "tied"}
# Display columns moved into the caption when every model row has one value.
_CONSTANT_TO_CAPTION = ("solved", "params", "s/epoch", "execution", "machine")
_DROP_WHEN_EMPTY = ("SD", "p vs best", "mark", "flags", "lr at edge", "dependency")


def _column(table: pd.DataFrame, name: str) -> pd.Series:
    return table[name].map(text) if name in table else pd.Series("", index=table.index)


def display_frame(table: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """The comparison table as the report shows it: formatted text, one column per
    varying parameter and statistic; ``(frame, constants)`` where ``constants`` are
    the display columns every model row shares (they go into the caption)."""
    confidence = float(table.attrs.get("confidence", 0.95))
    metric = f"test {table.attrs.get('headline_metric', 'headline')} (± {confidence:.0%} CI)"
    baseline = table["kind"] == KIND_BASELINE
    flags = _column(table, "flags").str.replace(";", ", ")
    runs = [
        f"{fmt_int(f)} of {fmt_int(n)} runs"
        for f, n in zip(table["flagged_runs"], table["n_seeds"], strict=True)
    ]
    columns = {
        **{
            c.removeprefix(HP_PREFIX): table[c].map(lambda v, c=c: fmt_value(v, c))
            for c in table.columns
            if c not in STAT_COLUMNS
        },
        "seeds": table["n_scored"].map(fmt_int) + "/" + table["n_seeds"].map(fmt_int),
        metric: [
            fmt_ci(*ci) for ci in zip(table["mean"], table["ci_low"], table["ci_high"], strict=True)
        ],
        # "2/3 solved (acc >= 0.9)" -> "2/3": the threshold is in the legend.
        "solved": _column(table, "solved").str.split(" ").str[0],
        # memory: the steps the signal is carried; a bidirectional cell is marked as
        # reading it within k steps of an end (a short dependency, never a long one)
        "dependency": [
            "" if missing(s) else f"{int(s)} steps" + (f" (\u21c4 {r})" if r else "")
            for s, r in zip(table["dependency_steps"], _column(table, "reach"), strict=True)
        ],
        "SD": table["sd"].map(fmt_float),
        "p vs best": table["p_vs_best"].map(
            lambda p: "< 0.001" if not missing(p) and p < 0.001 else fmt_float(p)
        ),
        "mark": _column(table, "mark").map(lambda m: _MARKS.get(m, "")),
        # A tuned lr at the edge of its candidates: the best lr may lie beyond them.
        "lr at edge": [
            f"\u26a0 {edge} of {candidates.replace(' ', ', ')}: widen the range" if edge else ""
            for edge, candidates in zip(
                _column(table, "lr_edge"), _column(table, "lr_candidates"), strict=True
            )
        ],
        "flags": ["" if not f else f"\u26a0 {f} ({r})" for f, r in zip(flags, runs, strict=True)],
        "params": table["params"].map(fmt_int),
        "s/epoch": table["seconds_per_epoch"].map(lambda s: fmt_float(s, 2)),
        "execution": _column(table, "exec_path"),
        "machine": _column(table, "device_name"),
    }
    frame = pd.DataFrame(columns, index=table.index).reset_index(drop=True)
    frame.loc[baseline.to_numpy(), "seeds"] = ""
    models = frame[~baseline.to_numpy()]
    constants: dict[str, str] = {}
    for column in frame.columns:
        values = set(models[column]) - {""}
        if column in _CONSTANT_TO_CAPTION and len(values) <= 1:
            constants.update({column: values.pop()} if values else {})
            frame = frame.drop(columns=column)
        elif column in _DROP_WHEN_EMPTY and not set(frame[column]) - {""}:
            frame = frame.drop(columns=column)
    return frame, constants


def render_html(table: pd.DataFrame, title: str) -> str:
    """A self-contained HTML page (inline CSS, no script) of a comparison table."""
    frame, constants = display_frame(table)
    shared = [setting_text(table.attrs.get("setting") or {})]
    caption = " · ".join([*filter(None, shared), *(f"{k}: {v}" for k, v in constants.items())])
    rows = [
        KIND_BASELINE if kind == KIND_BASELINE else "flagged" if text(f) else _ROW_CLASS.get(m, "")
        for kind, f, m in zip(table["kind"], table["flags"], table["mark"].map(text), strict=True)
    ]
    evaluated = zip(table["arch"], _column(table, "evaluated_on"), strict=True)
    attrs = table.attrs
    return page(
        title,
        styled_table(
            frame,
            row_classes=rows,
            column_classes={"flags": "flags"},
            caption=f"Same for every row: {caption}" if caption else "",
        ),
        "comparison",
        notes=attrs.get("notes") or [],
        confidence=float(attrs.get("confidence", 0.95)),
        alpha=f"{float(attrs.get('alpha', stats.ALPHA)):g}",
        alternative=attrs.get("alternative", stats.DEFAULT_ALTERNATIVE),
        least=stats.MIN_SEEDS_TO_MARK,
        solved=any(_column(table, "solved")),
        baselines=dict.fromkeys(
            f"{a.removeprefix(BASELINE_PREFIX)}: {e}" for a, e in evaluated if e
        ),
    )


def write_comparison(
    table: pd.DataFrame, csv_path: str | Path, html_path: str | Path, title: str
) -> None:
    """Write the table as CSV (full precision) and as an HTML page, both atomically."""
    with atomic_path(csv_path) as tmp:
        table.to_csv(tmp, index=False)
    write_text_atomic(html_path, render_html(table, title))
