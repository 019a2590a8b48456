"""Figures of a finished grid, drawn from ``results/summary/runs.csv`` (one row per run).

``plot(kind, runs, dataset, out_svg)`` draws one figure of one dataset:

- ``heatmap``: test headline metric over architecture x optimizer, one panel per length;
- ``learning_curves``: validation loss (top row) and validation headline metric (bottom
  row) per epoch, one panel per optimizer, one line per architecture (from each run's
  ``history.csv``);
- ``metric_vs_length``: test headline metric vs sequence length, one line per
  architecture, one panel per optimizer, with the chance level where it is known;
- ``metric_vs_cost``: test headline metric vs seconds per epoch, one panel per length,
  with the Pareto front (nothing both faster and better);
- ``entity_f1_per_type`` (NER only): test entity F1 per entity type, one bar per
  architecture (each at its best optimizer/length by validation score).

Seeds are aggregated: the mean, with a 95% bootstrap CI (fixed bootstrap seed) or the
seeds' SD where a CI over a couple of seeds means nothing. Flagged runs (non-empty
``flags``: degenerate, stuck, diverged) are marked, never shown as normal; NaN values of
diverged runs are left out (an empty cell, a missing point). A figure with nothing to
show is still written, saying "no data" and why, so a workflow rule never fails on it.

Output is deterministic: SVG ids are salted with a constant, text is kept as text (no
glyph paths) and no date is written, so the same data gives byte-identical files.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # before pyplot (seaborn imports it): no display, no GUI event loop

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.ticker import (
    FuncFormatter,
    LogLocator,
    MaxNLocator,
    NullFormatter,
)

from rnnbench.io import atomic_path
from rnnbench.names import ARCHITECTURES, OPTIMIZERS
from rnnbench.train.metrics import examples_note

log = logging.getLogger("rnnbench.analysis.plots")

PLOT_KINDS: tuple[str, ...] = (
    "heatmap",
    "learning_curves",
    "metric_vs_length",
    "metric_vs_cost",
    "entity_f1_per_type",
)
NER_TASK = "ner"
HISTORY_FILE = "history.csv"
FLAG_NOTE = "! = flagged run (degenerate/stuck/diverged)"
FLAG_COLOR = "#d62728"
ERRORBAR = ("ci", 95)
N_BOOT = 1000
BOOT_SEED = 0
# Display order; unknown names go last, sorted.
ARCH_ORDER: tuple[str, ...] = ARCHITECTURES
OPTIMIZER_ORDER: tuple[str, ...] = OPTIMIZERS
METRIC_NAMES: dict[str, str] = {
    "accuracy": "accuracy",
    "f1": "F1",
    "auc": "ROC-AUC",
    "entity_f1": "entity F1 (conlleval)",
    "strict_entity_f1": "entity F1 (strict IOB2)",
    "entity_precision": "entity precision",
    "entity_recall": "entity recall",
    "token_accuracy": "token accuracy",
    "non_o_accuracy": "non-O token accuracy",
}
# Chance level of a headline metric for a task, where it is a known constant: both
# binary tasks score 0.5 by guessing (IMDB and the memory task are balanced).
CHANCE: dict[tuple[str, str], float] = {("sentiment", "accuracy"): 0.5, ("memory", "accuracy"): 0.5}
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "h", "<", ">")
DASHES: tuple[tuple[float, ...], ...] = ((), (5, 2), (1.5, 1.5), (6, 2, 1.5, 2), (3, 1), (8, 3))
RC: dict[str, Any] = {
    "svg.hashsalt": "rnnbench",  # stable element ids
    "svg.fonttype": "none",  # text stays text: small, searchable, no font-dependent paths
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "figure.titlesize": 13,
    "legend.fontsize": 9,
    "legend.title_fontsize": 9,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
}
SAVE_FORMATS = ("svg", "png", "pdf")


class NoData(Exception):
    """Nothing to draw; the message says why (shown in the figure)."""


# --- data helpers -------------------------------------------------------------------


def _ordered(values: Iterable[Any], preferred: Sequence[str] = ()) -> list[Any]:
    present = list(dict.fromkeys(v for v in values if not _missing(v)))
    known = [v for v in preferred if v in present]
    return known + sorted((v for v in present if v not in known), key=str)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _numeric(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame:
        return pd.Series(np.nan, index=frame.index, dtype=float)
    return pd.to_numeric(frame[column], errors="coerce").astype(float)


def _mode(series: pd.Series, default: str) -> str:
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
    df["length"] = _numeric(df, "length")
    df["seed"] = _numeric(df, "seed")
    df = df[df["length"].notna() & (df["arch"] != "") & (df["optimizer"] != "")]
    df["length"] = df["length"].astype(int)
    headline = _mode(df["headline_metric"], "headline")
    value = _numeric(df, "test_headline")
    if value.isna().all():
        value = _numeric(df, f"test_{headline}")
    df["value"] = value
    df["seconds_per_epoch"] = _numeric(df, "seconds_per_epoch")
    df.attrs.update(headline=headline, task=_mode(df["task"], ""), dataset=dataset)
    return df.reset_index(drop=True)


def _metric_label(headline: str, split: str = "test") -> str:
    return f"{split} {METRIC_NAMES.get(headline, headline.replace('_', ' '))}"


def _palette(archs: Sequence[str]) -> dict[str, Any]:
    """One colour per architecture: tab10's ten, then tab20's light shades (tab20 in its
    own order pairs each colour with its light shade: neighbours would look alike)."""
    tab20 = sns.color_palette("tab20", 20)
    colors = tab20[0::2] + tab20[1::2]
    return {arch: colors[i % len(colors)] for i, arch in enumerate(archs)}


def _run_name(row: Any) -> str:
    seed = "" if _missing(row.seed) else f"/seed{int(row.seed)}"
    fold = getattr(row, "fold", None)
    seed = seed if fold is None or _missing(fold) else f"/fold{int(fold)}{seed}"
    note = row.flags or (row.status if row.status not in ("", "ok") else "")
    flags = f" [{note}]" if note else ""
    return f"{row.arch}/{row.optimizer}/len{row.length}{seed}{flags}"


def _flag_footnote(flagged: pd.DataFrame, lead: str, limit: int = 4) -> str:
    names = [_run_name(row) for row in flagged.itertuples()]
    shown = ", ".join(names[:limit]) + (
        f", ... ({len(names) - limit} more)" if len(names) > limit else ""
    )
    return f"{lead}: {shown}"


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
    data = df[_numeric(df, "majority_test").notna()]
    if data.empty:
        return None
    keys = [k for k in MAJORITY_KEYS if k in data]
    distinct = data.drop_duplicates(keys) if keys else data.iloc[:1]
    values = _numeric(distinct, "majority_test").tolist()
    level = values[0] if all(v == values[0] for v in values) else float(np.mean(values))
    notes = distinct["majority_on"].dropna().unique() if "majority_on" in distinct else []
    if len(notes) == 1:
        note = str(notes[0])
    else:
        subsamples = _numeric(distinct, "hp_eval_subsample")
        seeds = sorted(int(v) for v in _numeric(distinct, "seed").dropna().unique())
        if subsamples.notna().all() and subsamples.nunique() == 1:
            n = int(subsamples.iloc[0])
            note = examples_note("test", n, n, seeds)
        elif subsamples.isna().all():
            note = "test, whole split" + ("" if len(set(values)) == 1 else "s (mean)")
        else:
            note = f"test, mean over {len(distinct)} evaluation sets"
    return float(level), note


def _reference(df: pd.DataFrame) -> tuple[float, str] | None:
    """The level a model must beat: the test majority-class baseline
    (:func:`majority_reference`; it is an accuracy, so only for an accuracy headline),
    else the task's chance level where it is a known constant. The learning curves
    (validation) show the same test figure as every other output, labelled as such."""
    headline = df.attrs["headline"]
    majority = majority_reference(df)
    if headline == "accuracy" and majority is not None:
        level, note = majority
        return level, f"majority class: {level:.4f}\n({note})"
    chance = CHANCE.get((df.attrs["task"], headline))
    return None if chance is None else (chance, f"chance ({chance:g})")


def _seed_note(df: pd.DataFrame) -> str:
    seeds = df["seed"].dropna().nunique()
    text = f"{seeds} seed{'s' if seeds != 1 else ''}" if seeds else "seeds"
    folds = _numeric(df, "fold").dropna().nunique() if "fold" in df else 0
    # A cross-validated dataset: every cell pools its folds as it pools its seeds.
    return f"{folds} folds x {text}, n = {folds * seeds} runs per cell" if folds else text


def mean_ci(frame: pd.DataFrame, keys: Sequence[str], value: str) -> pd.DataFrame:
    """Mean and 95% bootstrap CI of ``value`` per group of ``keys`` (NaN values left out).

    Columns: the keys, ``mean``, ``lo``, ``hi``, ``n``. One value gives lo = hi = mean.
    Resampling is vectorised per group from one fixed-seed generator, so the bands are
    deterministic and cheap (seaborn's own bootstrap loops in Python: minutes on a grid).
    """
    rng = np.random.default_rng(BOOT_SEED)
    rows = []
    data = frame[[*keys, value]].dropna(subset=[value])
    for key, group in data.groupby(list(keys), sort=True):
        values = group[value].to_numpy(dtype=float)
        mean = float(values.mean())
        lo = hi = mean
        if len(values) > 1:
            idx = rng.integers(0, len(values), size=(N_BOOT, len(values)))
            lo, hi = (float(q) for q in np.percentile(values[idx].mean(axis=1), [2.5, 97.5]))
        rows.append((*key, mean, lo, hi, len(values)))
    return pd.DataFrame(rows, columns=[*keys, "mean", "lo", "hi", "n"])


# --- figure helpers -----------------------------------------------------------------


def _panels(
    n: int, panel_size: tuple[float, float], extra_width: float, max_cols: int = 3, **kwargs: Any
) -> tuple[Figure, list[Any]]:
    """A constrained-layout figure of ``n`` panels, at most ``max_cols`` a row; unused
    trailing axes are removed."""
    rows = math.ceil(max(n, 1) / max_cols)
    cols = math.ceil(max(n, 1) / rows)  # balanced: 4 panels are 2 x 2, not 3 + 1
    fig, axes = plt.subplots(
        rows,
        cols,
        figsize=(panel_size[0] * cols + extra_width, panel_size[1] * rows + 1.2),
        squeeze=False,
        layout="constrained",
        **kwargs,
    )
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.remove()
    for ax in flat[:n]:
        ax.tick_params(labelbottom=True)  # a panel with none below it needs its own ticks
    return fig, flat[:n]


def _label_axes(axes: Sequence[Any], xlabel: str, ylabel: str) -> None:
    """x label on every panel, y label on the first panel of each row."""
    for ax in axes:
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel if ax.get_subplotspec().is_first_col() else "")


def _plain_log_ticks(axis: Any) -> None:
    axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


@contextlib.contextmanager
def _style() -> Iterator[None]:
    with sns.axes_style("whitegrid"), plt.rc_context(RC):
        yield


def _footnote(fig: Figure, lines: Sequence[str]) -> None:
    """Notes under the figure (the tight bounding box at save time takes them in)."""
    text = "\n".join(line for line in lines if line)
    if text:
        fig.text(0.01, 0.0, text, ha="left", va="top", fontsize=8.5, color="0.25")


def _legend_right(fig: Figure, handles: list[Any], title: str | None = None) -> None:
    fig.legend(
        handles=handles,
        title=title,
        loc="outside right center",
        frameon=False,
    )


def _no_data_figure(title: str, reason: str) -> Figure:
    fig, ax = plt.subplots(figsize=(6.4, 3.0), layout="constrained")
    ax.set_axis_off()
    ax.text(0.5, 0.58, "no data", ha="center", va="center", fontsize=20, color="0.35")
    ax.text(0.5, 0.32, reason, ha="center", va="center", fontsize=10, color="0.35", wrap=True)
    fig.suptitle(title)
    return fig


def _save(fig: Figure, out: str | Path) -> None:
    suffix = Path(out).suffix.lstrip(".").lower()
    fmt = suffix if suffix in SAVE_FORMATS else "svg"
    # No "Date" (SVG, PDF) and no "Software" stamp: identical data -> identical bytes.
    metadata = {"Software": None} if fmt == "png" else {"Date": None}
    if fmt == "pdf":
        metadata["CreationDate"] = metadata.pop("Date")
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format=fmt, bbox_inches="tight", dpi=110, metadata=metadata)


# --- the plots ------------------------------------------------------------------------


def _heatmap(df: pd.DataFrame) -> Figure:
    dataset, headline = df.attrs["dataset"], df.attrs["headline"]
    if not df["value"].notna().any():
        raise NoData(f"no run has a test {headline} (all diverged or missing)")
    archs = _ordered(df["arch"], ARCH_ORDER)
    opts = _ordered(df["optimizer"], OPTIMIZER_ORDER)
    lengths = sorted(df["length"].unique())
    cells = df.groupby(["length", "arch", "optimizer"]).agg(
        mean=("value", "mean"), flagged=("flagged", "any")
    )
    finite = cells["mean"].dropna()
    vmin, vmax = float(finite.min()), float(finite.max())
    if vmax - vmin < 1e-9:
        vmin, vmax = vmin - 0.05, vmax + 0.05
    norm, cmap = Normalize(vmin, vmax), plt.get_cmap("viridis")

    panel = (max(2.4, 0.85 * len(opts) + 0.9), max(2.0, 0.42 * len(archs) + 0.9))
    fig, axes = _panels(len(lengths), panel, 1.6, sharey=True)
    any_flag = any_empty = False
    for ax, length in zip(axes, lengths, strict=True):
        grid = cells.xs(length, level="length").reindex(
            pd.MultiIndex.from_product([archs, opts], names=["arch", "optimizer"])
        )
        means = grid["mean"].unstack("optimizer").reindex(index=archs, columns=opts)
        flagged = grid["flagged"].unstack("optimizer").reindex(index=archs, columns=opts)
        flagged = flagged.fillna(False).astype(bool)
        labels = means.map(lambda v: "" if pd.isna(v) else f"{v:.3f}")
        ax.set_facecolor("0.93")
        ax.grid(False)
        sns.heatmap(
            means.astype(float),
            mask=means.isna(),
            annot=labels.to_numpy(),
            fmt="",
            cmap=cmap,
            vmin=vmin,
            vmax=vmax,
            cbar=False,
            linewidths=1.0,
            linecolor="white",
            annot_kws={"fontsize": 9},
            ax=ax,
        )
        for i, arch in enumerate(archs):
            for j, opt in enumerate(opts):
                if pd.isna(means.at[arch, opt]):
                    any_empty = True
                    ax.text(
                        j + 0.5, i + 0.5, "–", ha="center", va="center", color="0.3", fontsize=11
                    )
                if flagged.at[arch, opt]:
                    any_flag = True
                    ax.add_patch(
                        Rectangle(
                            (j + 0.03, i + 0.03),
                            0.94,
                            0.94,
                            fill=False,
                            hatch="///",
                            edgecolor=FLAG_COLOR,
                            linewidth=1.5,
                            alpha=0.55,
                        )
                    )
                    ax.text(
                        j + 0.93,
                        i + 0.1,
                        "!",
                        ha="right",
                        va="top",
                        color=FLAG_COLOR,
                        fontsize=12,
                        fontweight="bold",
                    )
        ax.set_title(f"length {length} tokens")
        ax.tick_params(axis="x", rotation=30)
        ax.tick_params(axis="y", rotation=0)
    _label_axes(axes, "optimizer", "architecture")
    colorbar = fig.colorbar(
        plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=axes, shrink=0.9, pad=0.02, aspect=25
    )
    colorbar.set_label(_metric_label(headline))
    fig.suptitle(
        f"{dataset}: {_metric_label(headline)} by architecture × optimizer\n"
        f"(mean over {_seed_note(df)}; diverged runs without a value left out)"
    )
    _footnote(
        fig,
        [
            f"{FLAG_NOTE}; hatched cell = at least one seed flagged" if any_flag else "",
            "– = no finite test value (every seed diverged or missing)" if any_empty else "",
        ],
    )
    return fig


def _read_history(row: Any) -> pd.DataFrame | None:
    if not row.run_dir:
        log.warning("run %s has no run_dir: skipped in learning curves", _run_name(row))
        return None
    path = Path(row.run_dir) / HISTORY_FILE
    try:
        history = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        log.warning(
            "skipping %s in learning curves: cannot read %s (%s)", _run_name(row), path, err
        )
        return None
    if "epoch" not in history or "val_loss" not in history:
        log.warning("skipping %s: %s has no epoch/val_loss column", _run_name(row), path)
        return None
    return history


def _histories(df: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Long table of every readable history (epoch, val_loss, val_metric, run keys)."""
    metric_col = f"val_{df.attrs['headline']}"
    frames, skipped = [], 0
    for row in df.itertuples():
        history = _read_history(row)
        if history is None:
            skipped += 1
            continue
        frames.append(
            pd.DataFrame(
                {
                    "epoch": _numeric(history, "epoch"),
                    "val_loss": _numeric(history, "val_loss"),
                    "val_metric": _numeric(history, metric_col),
                    "arch": row.arch,
                    "optimizer": row.optimizer,
                    "length": row.length,
                    "seed": row.seed,
                }
            )
        )
    if not frames:
        return pd.DataFrame(), skipped
    long = pd.concat(frames, ignore_index=True)
    return long[long["epoch"].notna()], skipped


def _learning_curves(df: pd.DataFrame) -> Figure:
    dataset, headline = df.attrs["dataset"], df.attrs["headline"]
    long, skipped = _histories(df)
    if long.empty or not long[["val_loss", "val_metric"]].notna().any().any():
        raise NoData(f"no readable {HISTORY_FILE} with validation values for any run")
    archs = _ordered(long["arch"], ARCH_ORDER)
    opts = _ordered(df["optimizer"], OPTIMIZER_ORDER)
    lengths = sorted(long["length"].unique())
    palette = _palette(archs)
    dashes = {length: DASHES[i % len(DASHES)] for i, length in enumerate(lengths)}
    multi_length = len(lengths) > 1
    flagged_archs = set(df.loc[df["flagged"], "arch"])
    reference = _reference(df)
    # Many overlapping bands turn into mud: fainter the more lines a panel holds.
    lines = len(archs) * len(lengths)
    band_alpha = 0.2 if lines <= 4 else 0.12 if lines <= 10 else 0.06

    fig, axes = plt.subplots(
        2,
        len(opts),
        figsize=(max((3.4 if len(opts) <= 3 else 2.9) * len(opts), 5.0) + 2.2, 6.2),
        squeeze=False,
        sharex=True,
        sharey="row",
        layout="constrained",
    )
    rows = (
        ("val_loss", "validation loss\n(cross-entropy, nats)"),
        ("val_metric", _metric_label(headline, "validation")),
    )
    for j, opt in enumerate(opts):
        sub = long[long["optimizer"] == opt]
        for i, (column, label) in enumerate(rows):
            ax = axes[i, j]
            data = sub[sub[column].notna()]
            if data.empty:
                ax.text(0.5, 0.5, "no values", transform=ax.transAxes, ha="center", color="0.4")
            else:
                stats = mean_ci(data, ["arch", "length", "epoch"], column)
                for (arch, length), curve in stats.groupby(["arch", "length"], sort=False):
                    style = {"color": palette[arch], "dashes": dashes[length]}
                    ax.plot(curve["epoch"], curve["mean"], lw=1.8, **style)
                    ax.fill_between(
                        curve["epoch"],
                        curve["lo"],
                        curve["hi"],
                        color=palette[arch],
                        alpha=band_alpha,
                        lw=0,
                    )
            if i == 1 and reference is not None:
                ax.axhline(reference[0], ls="--", lw=1.1, color="0.45", zorder=1)
            ax.set_ylabel(label if j == 0 else "")
            ax.set_xlabel("epoch" if i == 1 else "")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes[0, j].set_title(f"optimizer: {opt}")
    handles = [
        Line2D([], [], color=palette[a], lw=2, label=a + (" !" if a in flagged_archs else ""))
        for a in archs
    ]
    if multi_length:
        handles.append(Line2D([], [], lw=0, label=""))
        handles += [
            Line2D([], [], color="0.3", lw=1.5, dashes=dashes[n], label=f"length {n}")
            for n in lengths
        ]
    if reference is not None:
        handles.append(Line2D([], [], ls="--", color="0.45", lw=1.1, label=reference[1]))
    _legend_right(fig, handles, "architecture")
    fig.suptitle(
        f"{dataset}: learning curves, validation loss and {_metric_label(headline, 'validation')}"
        f" per epoch\n(mean over {_seed_note(df)}, band = 95% CI)"
    )
    flagged = df[df["flagged"]]
    _footnote(
        fig,
        [
            _flag_footnote(flagged, "! = architecture with flagged runs included in its mean")
            if len(flagged)
            else "",
            f"{skipped} run(s) without a readable {HISTORY_FILE} left out" if skipped else "",
        ],
    )
    return fig


def _arch_handles(archs: Sequence[str], palette: dict[str, Any], marker: str = "o") -> list[Any]:
    return [
        Line2D([], [], color=palette[a], marker=marker, lw=2, markersize=6, label=a) for a in archs
    ]


def _metric_vs_length(df: pd.DataFrame) -> Figure:
    dataset, headline = df.attrs["dataset"], df.attrs["headline"]
    valid = df[df["value"].notna()]
    if valid.empty:
        raise NoData(f"no run has a test {headline} (all diverged or missing)")
    archs = _ordered(valid["arch"], ARCH_ORDER)
    opts = _ordered(df["optimizer"], OPTIMIZER_ORDER)
    lengths = sorted(df["length"].unique())
    palette = _palette(archs)
    reference = _reference(df)
    fig, axes = _panels(
        len(opts), (3.8 if len(opts) > 1 else 5.0, 3.3), 2.0, sharex=True, sharey=True
    )
    for ax, opt in zip(axes, opts, strict=True):
        sub = valid[valid["optimizer"] == opt]
        if sub.empty:
            ax.text(0.5, 0.5, "no values", transform=ax.transAxes, ha="center", color="0.4")
        else:
            for arch, line in mean_ci(sub, ["arch", "length"], "value").groupby("arch"):
                ax.errorbar(
                    line["length"],
                    line["mean"],
                    yerr=[line["mean"] - line["lo"], line["hi"] - line["mean"]],
                    color=palette[arch],
                    marker="o",
                    markersize=6,
                    lw=1.8,
                    capsize=4,
                    elinewidth=1.2,
                )
            flagged = sub[sub["flagged"]]
            if len(flagged):
                ax.scatter(
                    flagged["length"],
                    flagged["value"],
                    marker="x",
                    s=45,
                    color=FLAG_COLOR,
                    zorder=5,
                    linewidths=1.8,
                )
        if reference is not None:
            ax.axhline(reference[0], ls="--", lw=1.2, color="0.45", zorder=1)
        ax.set_xticks(lengths)
        if len(lengths) == 1:
            ax.set_xlim(lengths[0] * 0.8, lengths[0] * 1.2)
        ax.set_title(f"optimizer: {opt}")
    _label_axes(axes, "sequence length (tokens)", _metric_label(headline))
    handles = _arch_handles(archs, palette)
    if reference is not None:
        handles.append(Line2D([], [], ls="--", color="0.45", lw=1.2, label=reference[1]))
    n_flagged = int(df["flagged"].sum())
    if n_flagged:
        handles.append(
            Line2D([], [], marker="x", color=FLAG_COLOR, lw=0, mew=1.8, label="flagged run (!)")
        )
    _legend_right(fig, handles, "architecture")
    fig.suptitle(
        f"{dataset}: {_metric_label(headline)} vs sequence length\n"
        f"(mean over {_seed_note(df)}, error bars = 95% CI)"
    )
    dropped = df[df["value"].isna()]
    _footnote(
        fig,
        [
            f"{FLAG_NOTE}: red × = one flagged run's value, also included in the mean"
            if n_flagged
            else "",
            _flag_footnote(dropped, "left out, no finite test value") if len(dropped) else "",
            "only one sequence length in this grid" if len(lengths) == 1 else "",
        ],
    )
    return fig


def _pareto(points: pd.DataFrame) -> pd.DataFrame:
    """Points no other point beats on both cost (lower) and metric (higher)."""
    front, best = [], -math.inf
    for row in points.sort_values(["seconds", "mean"], ascending=[True, False]).itertuples():
        if row.mean > best:
            front.append(row.Index)
            best = row.mean
    return points.loc[front]


def _metric_vs_cost(df: pd.DataFrame) -> Figure:
    dataset, headline = df.attrs["dataset"], df.attrs["headline"]
    valid = df[df["value"].notna() & (df["seconds_per_epoch"] > 0)]
    if valid.empty:
        raise NoData(f"no run has both a test {headline} and seconds per epoch")
    cells = (
        valid.groupby(["length", "arch", "optimizer"])
        .agg(
            seconds=("seconds_per_epoch", "mean"),
            mean=("value", "mean"),
            sd=("value", "std"),
            flagged=("flagged", "any"),
        )
        .reset_index()
    )
    cells["flagged"] |= cells.set_index(["length", "arch", "optimizer"]).index.isin(
        df[df["flagged"]].set_index(["length", "arch", "optimizer"]).index
    )
    archs = _ordered(cells["arch"], ARCH_ORDER)
    opts = _ordered(cells["optimizer"], OPTIMIZER_ORDER)
    lengths = sorted(cells["length"].unique())
    palette = _palette(archs)
    markers = {opt: MARKERS[i % len(MARKERS)] for i, opt in enumerate(opts)}
    log_x = cells["seconds"].max() / cells["seconds"].min() > 20
    fig, axes = _panels(len(lengths), (4.4, 3.4), 2.4, sharex=True, sharey=True)
    for ax, length in zip(axes, lengths, strict=True):
        sub = cells[cells["length"] == length]
        front = _pareto(sub)
        ax.plot(
            front["seconds"],
            front["mean"],
            drawstyle="steps-post",
            ls=(0, (2, 1.5)),
            color="0.3",
            lw=1.5,
            zorder=1,
        )
        for row in sub.itertuples():
            color = palette[row.arch]
            if np.isfinite(row.sd):
                ax.errorbar(
                    row.seconds, row.mean, yerr=row.sd, fmt="none", ecolor=color, alpha=0.6, lw=1
                )
            ax.scatter(
                row.seconds,
                row.mean,
                marker=markers[row.optimizer],
                s=55,
                color=color,
                edgecolors="white",
                linewidths=0.6,
                zorder=3,
            )
            if row.flagged:
                ax.scatter(
                    row.seconds,
                    row.mean,
                    marker="o",
                    s=190,
                    facecolors="none",
                    edgecolors=FLAG_COLOR,
                    linewidths=1.4,
                    zorder=4,
                )
                ax.annotate(
                    "!",
                    (row.seconds, row.mean),
                    xytext=(7, 5),
                    textcoords="offset points",
                    color=FLAG_COLOR,
                    fontweight="bold",
                    fontsize=11,
                )
        ax.set_title(f"length {length} tokens")
        ax.margins(x=0.12, y=0.12)
    if log_x:
        axes[0].set_xscale("log")  # shared: every panel
        _plain_log_ticks(axes[0].xaxis)
    _label_axes(
        axes, "seconds per epoch (s)" + (", log scale" if log_x else ""), _metric_label(headline)
    )
    handles = [Line2D([], [], lw=0, label="architecture (colour)")]
    handles += [
        Line2D([], [], color=palette[a], marker="o", lw=0, markersize=7, label=a) for a in archs
    ]
    handles.append(Line2D([], [], lw=0, label="optimizer (marker)"))
    handles += [
        Line2D([], [], color="0.35", marker=markers[o], lw=0, markersize=7, label=o) for o in opts
    ]
    handles.append(Line2D([], [], color="0.3", ls=(0, (2, 1.5)), lw=1.5, label="Pareto front"))
    if cells["flagged"].any():
        handles.append(
            Line2D(
                [],
                [],
                marker="o",
                lw=0,
                markersize=11,
                markerfacecolor="none",
                markeredgecolor=FLAG_COLOR,
                label="has a flagged run (!)",
            )
        )
    _legend_right(fig, handles)
    fig.suptitle(
        f"{dataset}: cost vs quality, {_metric_label(headline)} vs seconds per epoch\n"
        f"(mean over {_seed_note(df)}, error bars = ±1 SD over seeds)"
    )
    dropped = df[df["value"].isna() | ~(df["seconds_per_epoch"] > 0)]
    _footnote(
        fig,
        [
            f"{FLAG_NOTE}" if cells["flagged"].any() else "",
            "Pareto front: the points no other point beats on both time and metric",
            _flag_footnote(dropped, "left out, no test value or timing") if len(dropped) else "",
        ],
    )
    return fig


def _entity_f1_per_type(df: pd.DataFrame) -> Figure:
    dataset, headline, task = df.attrs["dataset"], df.attrs["headline"], df.attrs["task"]
    prefix = "test_entity_f1_"
    type_cols = [c for c in df.columns if c.startswith(prefix)]
    if task != NER_TASK or not type_cols:
        raise NoData(f"not an NER dataset: no per-entity-type columns ({prefix}<TYPE>)")
    overall = "all (micro)"
    columns = {c: c.removeprefix(prefix) for c in type_cols}
    if "test_entity_f1" in df:
        columns = {"test_entity_f1": overall, **columns}
    # One (optimizer, length) per architecture: its best by mean validation score (test
    # only when validation is missing), so architectures are compared at their best.
    select_col = f"validation_{headline}"
    selector = _numeric(df, select_col)
    by = "validation"
    if selector.isna().all():
        selector, by = df["value"], "test"
    scored = df.assign(score=selector)
    means = scored.groupby(["arch", "optimizer", "length"])["score"].mean().dropna()
    if means.empty:
        raise NoData(f"no run has a {by} {headline} to pick each architecture's best run")
    archs = _ordered(means.index.get_level_values("arch"), ARCH_ORDER)
    multi_length = df["length"].nunique() > 1
    multi_opt = df["optimizer"].nunique() > 1
    picks, labels, frames = {}, {}, []
    for arch in archs:
        best = means.xs(arch, level="arch").sort_values(ascending=False, kind="stable")
        opt, length = best.index[0]
        picks[arch] = (opt, length)
        runs = df[(df["arch"] == arch) & (df["optimizer"] == opt) & (df["length"] == length)]
        detail = [str(opt)] if multi_opt else []
        detail += [f"len {length}"] if multi_length else []
        flag = " !" if runs["flagged"].any() else ""
        labels[arch] = arch + (f" ({', '.join(detail)})" if detail else "") + flag
        melted = runs.melt(value_vars=list(columns), var_name="column", value_name="f1")
        melted["type"] = melted["column"].map(columns)
        melted["f1"] = pd.to_numeric(melted["f1"], errors="coerce")
        melted["label"] = labels[arch]
        frames.append(melted[["type", "f1", "label"]])
    long = pd.concat(frames, ignore_index=True)
    if not long["f1"].notna().any():
        raise NoData("every per-type entity F1 is missing")
    type_means = long[long["type"] != overall].groupby("type")["f1"].mean()
    types = sorted(type_means.index, key=lambda t: (-np.nan_to_num(type_means[t], nan=-1), t))
    order = ([overall] if overall in set(long["type"]) else []) + types
    hue_order = [labels[a] for a in archs]
    palette = {labels[a]: c for a, c in _palette(archs).items()}
    fig, ax = plt.subplots(
        figsize=(min(18.0, max(7.0, 0.16 * len(archs) * len(order) + 2.5)) + 2.0, 4.6),
        layout="constrained",
    )
    sns.barplot(
        data=long,
        x="type",
        y="f1",
        hue="label",
        order=order,
        hue_order=hue_order,
        palette=palette,
        errorbar=ERRORBAR,
        n_boot=N_BOOT,
        seed=BOOT_SEED,
        capsize=0.15,
        err_kws={"linewidth": 1.0, "color": "0.2"},
        ax=ax,
    )
    if overall in order:
        ax.axvline(0.5, color="0.6", lw=1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("entity type (sorted by mean F1)")
    ax.set_ylabel(_metric_label("entity_f1"))
    handles, _ = ax.get_legend_handles_labels()
    ax.legend_.remove()
    _legend_right(fig, handles, "architecture" + (" (best setting)" if multi_opt else ""))
    fig.suptitle(
        f"{dataset}: test entity F1 per entity type and architecture\n"
        f"(mean over {_seed_note(df)}, error bars = 95% CI"
        + (
            f"; each architecture at its best setting by {by} {METRIC_NAMES.get(headline, headline)})"
            if multi_opt or multi_length
            else ")"
        )
    )
    flagged = df[df["flagged"]]
    chosen = flagged[[picks.get(r.arch) == (r.optimizer, r.length) for r in flagged.itertuples()]]
    _footnote(
        fig,
        [
            _flag_footnote(chosen, f"{FLAG_NOTE}; flagged runs in these bars")
            if len(chosen)
            else "",
            "an empty bar: F1 undefined (type absent from test set, or run diverged)",
        ],
    )
    return fig


BUILDERS: dict[str, Callable[[pd.DataFrame], Figure]] = {
    "heatmap": _heatmap,
    "learning_curves": _learning_curves,
    "metric_vs_length": _metric_vs_length,
    "metric_vs_cost": _metric_vs_cost,
    "entity_f1_per_type": _entity_f1_per_type,
}
TITLES: dict[str, str] = {
    "heatmap": "{metric} by architecture × optimizer",
    "learning_curves": "learning curves",
    "metric_vs_length": "{metric} vs sequence length",
    "metric_vs_cost": "{metric} vs seconds per epoch",
    "entity_f1_per_type": "test entity F1 per entity type",
}


# --- public API -----------------------------------------------------------------------


def plot(kind: str, runs: pd.DataFrame, dataset: str, out_svg: str | Path) -> None:
    """Draw figure ``kind`` of ``dataset`` from the runs table into ``out_svg``.

    The format follows the suffix (.svg, .png, .pdf; anything else is SVG). Nothing to
    draw (no runs, every value NaN, no history) gives a "no data" figure, not an error.
    """
    if kind not in PLOT_KINDS:
        raise ValueError(f"unknown plot kind {kind!r}; use one of {', '.join(PLOT_KINDS)}")
    with _style():
        before = set(plt.get_fignums())
        metric = "headline metric"
        try:
            df = prepare(runs, dataset)
            metric = _metric_label(df.attrs["headline"]) if len(df) else metric
            if df.empty:
                raise NoData(f"no runs of dataset {dataset!r} in the runs table")
            fig = BUILDERS[kind](df)
        except NoData as err:
            for num in set(plt.get_fignums()) - before:
                plt.close(num)
            log.warning("%s %s: no data (%s)", dataset, kind, err)
            title = TITLES[kind].format(metric=metric)
            fig = _no_data_figure(f"{dataset}: {title}", str(err))
        except BaseException:
            for num in set(plt.get_fignums()) - before:
                plt.close(num)
            raise
        try:
            _save(fig, out_svg)
        finally:
            plt.close(fig)


def read_runs(runs_csv: str | Path) -> pd.DataFrame:
    """The runs table; ``flags`` stays text ("" for none), not NaN."""
    return pd.read_csv(runs_csv, dtype={"flags": str}, keep_default_na=True)


def kinds_for(runs: pd.DataFrame, dataset: str) -> list[str]:
    """The plot kinds that apply to ``dataset`` (entity F1 per type only for NER)."""
    df = runs[runs["dataset"].astype(str) == dataset]
    task = _mode(df["task"], "") if "task" in df else ""
    return [k for k in PLOT_KINDS if k != "entity_f1_per_type" or task == NER_TASK]


def plot_all(runs_csv: str | Path, dataset: str, out_dir: str | Path) -> list[str]:
    """Every applicable figure of ``dataset`` as ``out_dir/<kind>.svg``; the paths written."""
    runs = read_runs(runs_csv)
    written = []
    for kind in kinds_for(runs, dataset):
        out = str(Path(out_dir) / f"{kind}.svg")
        plot(kind, runs, dataset, out)
        written.append(out)
    return written


def register(subparsers: Any) -> None:
    """Add the ``plot`` subcommand to an ``argparse`` subparsers object."""
    parser = subparsers.add_parser(
        "plot",
        help="draw one figure of one dataset from runs.csv",
        description="Draw one figure (SVG) of one dataset from the runs table. "
        "A figure with nothing to show says 'no data' instead of failing.",
    )
    parser.add_argument("--runs", required=True, help="runs table (results/summary/runs.csv)")
    parser.add_argument("--dataset", required=True, help="dataset name as in runs.csv")
    parser.add_argument("--kind", required=True, choices=PLOT_KINDS)
    parser.add_argument("--out", required=True, help="output file (.svg)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    plot(args.kind, read_runs(args.runs), args.dataset, args.out)
    log.info("wrote %s", args.out)
    return 0
