"""The numbers behind the figures of :mod:`rnnbench.analysis.plots`, with no drawing.

A dataset's runs normalised for plotting (:func:`prepare`), the seeds aggregated with the
comparison table's statistics (:func:`seed_mean`, :func:`seed_interval`,
:func:`aggregate`), the level a model must beat (:func:`reference_level`), the learning
curves read from each run's history (:func:`histories`), the Pareto front of cost and
metric, the plot kinds that apply to a dataset and the run names the figures' notes
list. :mod:`.plots` draws them.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rnnbench.analysis import stats
from rnnbench.analysis.formats import missing
from rnnbench.experiment.paths import HISTORY_FILE
from rnnbench.experiment.tasks import COMMON_PLOT_KINDS, SIZE_PLOT_KIND, TASKS
from rnnbench.metrics import examples_note
from rnnbench.names import ARCHITECTURES

OVERALL_F1 = "all (micro)"  # the entity F1 over every type, the first bar group


class NoData(Exception):
    """Nothing to draw; the message says why (shown in the figure)."""


# The figures' logger: a skipped history is reported as the plotting job's warning.
log = logging.getLogger("rnnbench.analysis.plots")


def ordered(values: Iterable[Any], preferred: Sequence[str] = ()) -> list[Any]:
    present = list(dict.fromkeys(v for v in values if not missing(v)))
    known = [v for v in preferred if v in present]
    return known + sorted((v for v in present if v not in known), key=str)


def numeric(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame:
        return pd.Series(np.nan, index=frame.index, dtype=float)
    return pd.to_numeric(frame[column], errors="coerce").astype(float)


def most_common(series: pd.Series, default: str) -> str:
    values = series.dropna().astype(str)
    values = values[values != ""]
    return str(values.mode().iloc[0]) if len(values) else default


def prepare(runs: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """The runs of ``dataset``, normalised: string keys, numeric metrics, ``flagged``."""
    if "dataset" not in runs:
        raise ValueError("runs table has no 'dataset' column")
    df = runs[runs["dataset"].astype(str) == dataset].copy()
    for column in ("arch", "optimizer", "task", "headline_metric", "status", "run_dir"):
        if column not in df:
            df[column] = ""
        df[column] = df[column].astype(object).where(df[column].notna(), "").astype(str)
    df["flags"] = df["flags"].fillna("").astype(str).str.strip() if "flags" in df else ""
    df["flagged"] = (df["flags"] != "") | (df["status"] == "diverged")
    df["length"] = numeric(df, "length")
    df["seed"] = numeric(df, "seed")
    df = df[df["length"].notna() & (df["arch"] != "") & (df["optimizer"] != "")]
    df["length"] = df["length"].astype(int)
    headline = most_common(df["headline_metric"], "headline")
    value = numeric(df, "test_headline")
    if value.isna().all():
        value = numeric(df, f"test_{headline}")
    df["value"] = value
    df["seconds_per_epoch"] = numeric(df, "seconds_per_epoch")
    df["train_size"] = numeric(df, "train_size")
    df.attrs.update(headline=headline, task=most_common(df["task"], ""), dataset=dataset)
    return df.reset_index(drop=True)


def run_name(row: Any) -> str:
    seed = "" if missing(row.seed) else f"/seed{int(row.seed)}"
    fold = getattr(row, "fold", None)
    seed = seed if fold is None or missing(fold) else f"/fold{int(fold)}{seed}"
    note = row.flags or (row.status if row.status not in ("", "ok") else "")
    return f"{row.arch}/{row.optimizer}/len{row.length}{seed}" + (f" [{note}]" if note else "")


def runs_note(runs: pd.DataFrame, lead: str, limit: int = 6) -> str:
    """``lead: run, run, ...`` (at most ``limit`` names); "" without runs."""
    names = [run_name(row) for row in runs.itertuples()]
    more = [f"... ({len(names) - limit} more)"] if len(names) > limit else []
    return f"{lead}: {', '.join(names[:limit] + more)}" if names else ""


# What makes two runs' majority figures differ: the rows they were computed on.
MAJORITY_KEYS: tuple[str, ...] = (
    "seed",
    "fold",  # a cross-validated dataset's folds are different test sets
    "length",
    "hp_train_subsample",
    "hp_eval_subsample",
)


def majority_reference(df: pd.DataFrame) -> tuple[float, str] | None:
    """The test majority-class accuracy (runs.csv's ``majority_test``) and the examples
    it is computed on, in words: one value per distinct set of rows (seed, length,
    subsamples), averaged over them, as the ``majority`` baseline of the comparison
    table (analysis.baselines) averages over seeds; with one set, the very number of
    runs.csv and the table. None when no run records it."""
    data = df[numeric(df, "majority_test").notna()]
    if data.empty:
        return None
    keys = [k for k in MAJORITY_KEYS if k in data]
    distinct = data.drop_duplicates(keys) if keys else data.iloc[:1]
    values = numeric(distinct, "majority_test").tolist()
    level = values[0] if all(v == values[0] for v in values) else float(np.mean(values))
    notes = distinct["majority_on"].dropna().unique() if "majority_on" in distinct else []
    if len(notes) == 1:
        note = str(notes[0])
    else:
        subsamples = numeric(distinct, "hp_eval_subsample")
        seeds = sorted(int(v) for v in numeric(distinct, "seed").dropna().unique())
        if subsamples.notna().all() and subsamples.nunique() == 1:
            n = int(subsamples.iloc[0])
            note = examples_note("test", n, n, seeds)
        elif subsamples.isna().all():
            note = "test, whole split" + ("" if len(set(values)) == 1 else "s (mean)")
        else:
            note = f"test, mean over {len(distinct)} evaluation sets"
    return float(level), note


def reference_level(df: pd.DataFrame) -> tuple[float, str] | None:
    """The level a model must beat: the test majority-class baseline
    (:func:`majority_reference`; it is an accuracy, so only for an accuracy headline),
    else the task's chance level where it is a known constant. The learning curves
    (validation) show the same test figure as every other output, labelled as such."""
    headline = df.attrs["headline"]
    majority = majority_reference(df)
    if headline == "accuracy" and majority is not None:
        level, note = majority
        return level, f"majority class: {level:.4f}\n({note})"
    task = TASKS.get(df.attrs["task"])
    chance = task.chance if task is not None and headline == task.headline else None
    return None if chance is None else (chance, f"chance ({chance:g})")


def seed_note(df: pd.DataFrame) -> str:
    seeds = df["seed"].dropna().nunique()
    text = f"{seeds} seed{'s' if seeds != 1 else ''}" if seeds else "seeds"
    folds = numeric(df, "fold").dropna().nunique() if "fold" in df else 0
    # A cross-validated dataset: every cell pools its folds as it pools its seeds.
    return f"{folds} folds x {text}, n = {folds * seeds} runs per cell" if folds else text


def seed_mean(values: Iterable[float]) -> float:
    """Mean of the finite values: :func:`stats.mean_sd_ci`'s, as in the tables."""
    return stats.mean_sd_ci(values)[0]


def seed_interval(values: Iterable[float]) -> tuple[float, float]:
    """The tables' 95% t-interval (``ci_low``, ``ci_high`` of :func:`stats.mean_sd_ci`);
    NaN (nothing drawn) below 2 finite values. Seaborn's ``errorbar`` in every figure."""
    return stats.mean_sd_ci(values)[2:]


def aggregate(frame: pd.DataFrame, keys: Sequence[str], value: str) -> pd.DataFrame:
    """Per group of ``keys``: ``mean``, ``lo``, ``hi`` (:func:`seed_interval`) and ``n``
    (finite values) of ``value``; groups without a finite value are left out."""
    rows = []
    for key, group in frame.groupby(list(keys), sort=True):
        values = stats.finite(group[value])
        if values.size:
            mean, _, lo, hi = stats.mean_sd_ci(values)
            rows.append((*key, mean, lo, hi, values.size))
    return pd.DataFrame(rows, columns=[*keys, "mean", "lo", "hi", "n"])


def read_history(row: Any) -> pd.DataFrame | None:
    if not row.run_dir:
        log.warning("run %s has no run_dir: skipped in learning curves", run_name(row))
        return None
    path = Path(row.run_dir) / HISTORY_FILE
    try:
        history = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        log.warning("skipping %s in learning curves: cannot read %s (%s)", run_name(row), path, err)
        return None
    if "epoch" not in history or "val_loss" not in history:
        log.warning("skipping %s: %s has no epoch/val_loss column", run_name(row), path)
        return None
    return history


def histories(df: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Long table of every readable history (epoch, val_loss, val_metric, run keys)."""
    metric_col = f"val_{df.attrs['headline']}"
    frames, skipped = [], 0
    for row in df.itertuples():
        history = read_history(row)
        if history is None:
            skipped += 1
            continue
        keys = {k: getattr(row, k) for k in ("arch", "optimizer", "length", "seed", "flagged")}
        values = {k: numeric(history, k) for k in ("epoch", "val_loss")}
        frames.append(pd.DataFrame({**values, "val_metric": numeric(history, metric_col), **keys}))
    if not frames:
        return pd.DataFrame(), skipped
    long = pd.concat(frames, ignore_index=True)
    return long[long["epoch"].notna()], skipped


def pareto_front(points: pd.DataFrame) -> pd.DataFrame:
    """Points no other point beats on both cost (lower) and metric (higher)."""
    front, best = [], -math.inf
    for row in points.sort_values(["seconds", "mean"], ascending=[True, False]).itertuples():
        if row.mean > best:
            front.append(row.Index)
            best = row.mean
    return points.loc[front]


def read_runs(runs_csv: str | Path) -> pd.DataFrame:
    """The runs table (collect.read_runs_csv: ``flags`` stays text, "" for none)."""
    from rnnbench.analysis.collect import read_runs_csv

    return read_runs_csv(runs_csv)


def kinds_for(runs: pd.DataFrame, dataset: str) -> list[str]:
    """The plot kinds that apply to ``dataset`` (entity F1 per type only for NER, the
    training-set size figure only where runs record a size)."""
    df = runs[runs["dataset"].astype(str) == dataset]
    task = most_common(df["task"], "") if "task" in df else ""
    sized = "train_size" in df and df["train_size"].notna().any()
    kinds = list(TASKS[task].plot_kinds) if task in TASKS else list(COMMON_PLOT_KINDS)
    return [*kinds, SIZE_PLOT_KIND] if sized else kinds


@dataclass(frozen=True)
class EntityBars:
    """The entity-F1-per-type figure's numbers: ``long`` has one row per run and column
    (``label``, ``type``, ``f1``, ``flagged``, ``run``, ``seed``); ``order`` is the x
    order (the overall F1 first, then the types by mean F1); ``by`` what picked each
    architecture's setting ("validation", or "test" without validation scores)."""

    long: pd.DataFrame
    archs: list[str]
    labels: dict[str, str]
    order: list[str]
    by: str
    multi: bool  # several optimizers or lengths: each architecture at its best setting


def _best_settings(df: pd.DataFrame) -> tuple[pd.Series, str]:
    """Mean score per (arch, optimizer, length), by validation (test only when validation
    is missing), and which split scored it."""
    headline = df.attrs["headline"]
    selector = numeric(df, f"validation_{headline}")
    by = "validation"
    if selector.isna().all():
        selector, by = df["value"], "test"
    scored = df.assign(score=selector)
    means = scored.groupby(["arch", "optimizer", "length"])["score"].mean().dropna()
    if means.empty:
        raise NoData(f"no run has a {by} {headline} to pick each architecture's best run")
    return means, by


def entity_f1_bars(df: pd.DataFrame) -> EntityBars:
    """Test entity F1 per entity type of each architecture's runs at one (optimizer,
    length): its best by mean validation score, so architectures are compared at their
    best. NoData for a dataset without per-type columns or scores."""
    prefix = "test_entity_f1_"
    type_cols = [c for c in df.columns if c.startswith(prefix)]
    task = df.attrs["task"]
    if task not in TASKS or "entity_f1_per_type" not in TASKS[task].plot_kinds or not type_cols:
        raise NoData(f"not an NER dataset: no per-entity-type columns ({prefix}<TYPE>)")
    columns = {c: c.removeprefix(prefix) for c in type_cols}
    if "test_entity_f1" in df:
        columns = {"test_entity_f1": OVERALL_F1, **columns}
    means, by = _best_settings(df)
    archs = ordered(means.index.get_level_values("arch"), ARCHITECTURES)
    multi_length = df["length"].nunique() > 1
    multi_opt = df["optimizer"].nunique() > 1
    labels, frames = {}, []
    for arch in archs:
        best = means.xs(arch, level="arch").sort_values(ascending=False, kind="stable")
        opt, length = best.index[0]
        runs = df[(df["arch"] == arch) & (df["optimizer"] == opt) & (df["length"] == length)]
        detail = [str(opt)] if multi_opt else []
        detail += [f"len {length}"] if multi_length else []
        labels[arch] = arch + (f" ({', '.join(detail)})" if detail else "")
        melted = runs.melt(["flagged", "seed"], list(columns), "column", "f1")
        melted["type"] = melted["column"].map(columns)
        melted["f1"] = pd.to_numeric(melted["f1"], errors="coerce")
        names = [run_name(row) for row in runs.itertuples()] * len(columns)
        frames.append(melted.assign(label=labels[arch], run=names))
    long = pd.concat(frames, ignore_index=True)
    if not long["f1"].notna().any():
        raise NoData("every per-type entity F1 is missing")
    type_means = long[long["type"] != OVERALL_F1].groupby("type")["f1"].mean()
    types = sorted(type_means.index, key=lambda t: (-np.nan_to_num(type_means[t], nan=-1), t))
    order = ([OVERALL_F1] if OVERALL_F1 in set(long["type"]) else []) + types
    return EntityBars(long, archs, labels, order, by, multi_opt or multi_length)
