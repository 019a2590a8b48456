"""Figures of a finished grid, drawn from ``results/summary/runs.csv`` (one row per run).

``plot(kind, runs, dataset, out_svg)`` draws one figure of one dataset, each through
seaborn's figure-level API (``relplot``, ``catplot``, ``FacetGrid``):

- ``heatmap``: test headline metric over architecture x optimizer, one panel per length;
- ``learning_curves``: validation loss (top row) and validation headline metric (bottom
  row) per epoch, one panel per optimizer, one line per architecture (from each run's
  ``history.csv``), one dash pattern per length;
- ``metric_vs_length``: test headline metric vs sequence length, one line per
  architecture, one panel per optimizer, with the majority baseline or chance level; for
  the memory task each point says how many seeds solve it;
- ``metric_vs_cost``: test headline metric vs seconds per epoch, one panel per length,
  with the Pareto front (nothing both faster and better);
- ``entity_f1_per_type`` (NER only): test entity F1 per entity type, one bar per
  architecture (each at its best optimizer/length by validation score);
- ``metric_vs_train_size`` (grids with grid.train_sizes): test headline metric vs the
  training-set size (log x), one line per architecture, one panel per length; for the
  memory task each point says how many seeds solve it.

On the memory task a bidirectional architecture is marked in the legend as reading the
signal within k steps of an end (:func:`stats.dependency_steps`): a short dependency.

Seeds are aggregated with the comparison table's statistics (:mod:`.stats`): the mean and
the 95% t-interval of :func:`stats.mean_sd_ci`, so a figure's error bar or band is the
table's ``ci_low``..``ci_high`` of that cell (none where a cell has one scored seed).
Flagged runs (non-empty ``flags``: degenerate, stuck, diverged) are drawn as a red "x" at
their own value (hatched cells in the heatmap); NaN values of diverged runs are left
out (an empty cell, a missing point) and listed under the figure. A figure with nothing
to show is still written, saying "no data" and why, so a workflow rule never fails on it.
Legends sit below the panels, so a figure keeps its width at the report's ~1000 px.

Output is deterministic: SVG ids are salted with a constant, text is kept as text (no
glyph paths) and no date is written, so the same data gives byte-identical files.
"""

from __future__ import annotations

import contextlib
import logging
import math
import textwrap
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
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from rnnbench.analysis import stats
from rnnbench.analysis.plot_data import (
    OVERALL_F1,
    NoData,
    aggregate,
    entity_f1_bars,
    histories,
    kinds_for,
    numeric,
    ordered,
    pareto_front,
    prepare,
    read_runs,
    reference_level,
    runs_note,
    seed_interval,
    seed_mean,
    seed_note,
)
from rnnbench.experiment.paths import HISTORY_FILE
from rnnbench.experiment.tasks import (
    ALL_PLOT_KINDS,
    SIZE_PLOT_KIND,
    reports_solved,
)
from rnnbench.io import atomic_path
from rnnbench.names import ARCHITECTURES, OPTIMIZERS

log = logging.getLogger("rnnbench.analysis.plots")

# Every task's kinds and the training-set size figure (rnnbench.experiment.tasks), once each.
TRAIN_SIZE_KIND = SIZE_PLOT_KIND
PLOT_KINDS: tuple[str, ...] = ALL_PLOT_KINDS
FLAG_NOTE = "! = flagged run (degenerate/stuck/diverged)"
FLAG_COLOR = "#d62728"
FLAG_LABEL = "flagged run (degenerate/stuck/diverged)"
CI_NOTE = "95% t-interval over seeds, as in the tables"
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
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "h", "<", ">")
DASHES: tuple[tuple[float, ...], ...] = ((), (5, 2), (1.5, 1.5), (6, 2, 1.5, 2), (3, 1), (8, 3))
MAX_WIDTH = 10.0  # inches: the report shows a figure ~1000 px wide
MAX_COLS = 3  # panels a row
RC: dict[str, Any] = {
    "svg.hashsalt": "rnnbench",  # stable element ids
    "svg.fonttype": "none",  # text stays text: small, searchable, no font-dependent paths
    "font.size": 10,
    "axes.titlesize": 10.5,
    "axes.labelsize": 10,
    "figure.titlesize": 12,
    "legend.fontsize": 9,
    "legend.title_fontsize": 9,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
}
SAVE_FORMATS = ("svg", "png", "pdf")


# --- data helpers -------------------------------------------------------------------


def _metric_label(headline: str, split: str = "test") -> str:
    return f"{split} {METRIC_NAMES.get(headline, headline.replace('_', ' '))}"


def _palette(archs: Sequence[str]) -> dict[str, Any]:
    """One colour per architecture: tab10's ten, then tab20's light shades (tab20 in its
    own order pairs each colour with its light shade: neighbours would look alike)."""
    tab20 = sns.color_palette("tab20", 20)
    colors = tab20[0::2] + tab20[1::2]
    return {arch: colors[i % len(colors)] for i, arch in enumerate(archs)}


# --- the statistics: the comparison table's, for every bar and band --------------------


# seaborn's aggregation in every figure: the tables' mean and t-interval; our own legend
SEABORN: dict[str, Any] = {"estimator": seed_mean, "errorbar": seed_interval, "legend": False}


# --- figure helpers -----------------------------------------------------------------


def _facet_size(n: int, width: float = MAX_WIDTH, height: float = 3.0) -> dict[str, Any]:
    """relplot/FacetGrid sizing for ``n`` panels, at most MAX_COLS a row (balanced: 4
    panels are 2 x 2), the row no wider than ``width`` inches."""
    rows = math.ceil(max(n, 1) / MAX_COLS)
    cols = math.ceil(max(n, 1) / rows)
    panel = min(width / cols, 1.6 * height)
    return {"height": height, "aspect": panel / height, "col_wrap": cols if rows > 1 else None}


LEGEND: dict[str, Any] = {"loc": "upper center", "frameon": False, "handlelength": 1.8}


def _hue(archs: list[str], palette: dict[str, Any]) -> dict[str, Any]:
    return {"hue": "arch", "hue_order": archs, "palette": palette}


def _handle(label: str, **style: Any) -> Line2D:
    return Line2D([], [], label=label, **{"lw": 0, **style})


def _legends(fig: Figure, groups: Sequence[tuple[str, Sequence[Any]]]) -> float:
    """A legend a group, stacked under the figure: the group's title, then its entries in
    as many columns as the figure's width holds. The bottom of the last (figure units)."""
    renderer, top = fig.canvas.get_renderer(), 0.0
    for title, handles in groups:
        entries = [_handle(f"{title}:")] * bool(title) + list(handles)
        for ncol in range(len(entries), 0, -1) if handles else ():
            rows = math.ceil(len(entries) / ncol)  # matplotlib fills column by column:
            grid = entries + [_handle("")] * (rows * ncol - len(entries))  # read by rows
            ordered = [grid[r * ncol + c] for c in range(ncol) for r in range(rows)]
            legend = fig.legend(handles=ordered, ncol=ncol, bbox_to_anchor=(0.5, top), **LEGEND)
            box = legend.get_window_extent(renderer)
            if ncol == 1 or box.width <= fig.bbox.width:
                top = box.y0 / fig.bbox.height
                break
            legend.remove()
    return top


def _wrap(text: str, fig: Figure, size: float = 8.5) -> str:
    """``text`` wrapped to the figure's width (6.5 inches at least) at ``size`` points,
    at spaces only (a run's name stays whole)."""
    width = int(max(6.5, fig.get_size_inches()[0]) * 72 / (0.5 * size))
    fill = {"break_on_hyphens": False, "break_long_words": False}
    return "\n".join(textwrap.fill(line, width, **fill) for line in text.split("\n"))


def _finish(
    fig: Figure, title: str, groups: Sequence[tuple[str, Sequence[Any]]], notes: Sequence[str]
) -> Figure:
    """Lay out the panels, then add the title above them, the legend below them and the
    notes below the legend (the tight bounding box at save time takes them all in)."""
    fig.tight_layout()
    fig.suptitle(_wrap(title, fig, 12), y=1.0, va="bottom")
    top = _legends(fig, groups)
    if text := "\n".join(_wrap(note, fig) for note in notes if note):
        fig.text(0.01, top - 0.01, text, ha="left", va="top", fontsize=8.5, color="0.25")
    return fig


def _clip(axes: Sequence[Any], values: Iterable[float], extra: Sequence[float] = ()) -> bool:
    """y limits from the runs' own values (and ``extra``: a reference level) with a
    margin: the t-interval of 2-3 seeds can reach far beyond them and would squash the
    means into a line. True when a bar or band is cut at the frame."""
    finite, axes = np.concatenate([stats.finite(values), stats.finite(extra)]), list(axes)
    if not finite.size:
        return False
    pad = 0.08 * float(np.ptp(finite)) or 0.02
    lo, hi = float(finite.min()) - pad, float(finite.max()) + pad
    cut = any(ax.dataLim.y0 < lo or ax.dataLim.y1 > hi for ax in axes)
    for ax in axes:
        ax.set_ylim(lo, hi)
    return cut


CUT_NOTE = "error bars/bands reaching beyond the runs' values are cut at the frame"


def _reference_line(ax: Any, reference: tuple[float, str] | None) -> None:
    if reference is not None:
        ax.axhline(reference[0], ls="--", lw=1.2, color="0.45", zorder=1)


def _reference_handles(reference: tuple[float, str] | None) -> list[Any]:
    return [] if reference is None else [_handle(reference[1], ls="--", color="0.45", lw=1.2)]


def _flag_handles(show: bool, label: str = FLAG_LABEL, **style: Any) -> list[Any]:
    style = {"marker": "x", "color": FLAG_COLOR, "mew": 1.8, "markersize": 7, **style}
    return [_handle(label, **style)] if show else []


def _mark_flagged(ax: Any, x: Any, y: Any) -> None:
    ax.scatter(x, y, marker="x", s=45, color=FLAG_COLOR, zorder=5, linewidths=1.8)


def _plain_log_ticks(axis: Any) -> None:
    axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


@contextlib.contextmanager
def _style() -> Iterator[None]:
    with sns.axes_style("whitegrid"), plt.rc_context(RC):
        yield


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


def _heatmap_panel(data: pd.DataFrame, archs: list[str], opts: list[str], **kws: Any) -> None:
    """One length's architecture x optimizer cells (FacetGrid.map_dataframe)."""
    ax = plt.gca()
    cells = data.set_index(["arch", "optimizer"])
    means = cells["mean"].unstack("optimizer").reindex(index=archs, columns=opts).astype(float)
    flagged = cells["flagged"].unstack("optimizer").reindex(index=archs, columns=opts).eq(True)
    ax.set_facecolor("0.93")
    ax.grid(False)
    annot = means.map(lambda v: "" if pd.isna(v) else f"{v:.3f}").to_numpy()
    grid = {"linewidths": 1.0, "linecolor": "white", "annot_kws": {"fontsize": 9}}
    sns.heatmap(means, mask=means.isna(), annot=annot, fmt="", cbar=False, ax=ax, **kws, **grid)
    for i, arch in enumerate(archs):
        for j, opt in enumerate(opts):
            if pd.isna(means.at[arch, opt]):
                ax.text(j + 0.5, i + 0.5, "–", ha="center", va="center", color="0.3", fontsize=11)
            if flagged.at[arch, opt]:
                hatch = {"fill": False, "hatch": "///", "lw": 1.5, "alpha": 0.55}
                ax.add_patch(Rectangle((j + 0.03, i + 0.03), 0.94, 0.94, ec=FLAG_COLOR, **hatch))
                flag = {"color": FLAG_COLOR, "fontsize": 12, "fontweight": "bold"}
                ax.text(j + 0.93, i + 0.1, "!", ha="right", va="top", **flag)
    ax.tick_params(axis="x", rotation=30)
    ax.tick_params(axis="y", rotation=0)


def _heatmap(df: pd.DataFrame) -> Figure:
    dataset, headline = df.attrs["dataset"], df.attrs["headline"]
    if not df["value"].notna().any():
        raise NoData(f"no run has a test {headline} (all diverged or missing)")
    archs = ordered(df["arch"], ARCH_ORDER)
    opts = ordered(df["optimizer"], OPTIMIZER_ORDER)
    lengths = sorted(df["length"].unique())
    cells = df.groupby(["length", "arch", "optimizer"], as_index=False).agg(
        mean=("value", seed_mean), flagged=("flagged", "any")
    )
    finite = cells["mean"].dropna()
    vmin, vmax = float(finite.min()), float(finite.max())
    if vmax - vmin < 1e-9:
        vmin, vmax = vmin - 0.05, vmax + 0.05
    norm, cmap = Normalize(vmin, vmax), plt.get_cmap("viridis")
    size = _facet_size(len(lengths), MAX_WIDTH - 1.5, max(2.0, 0.42 * len(archs) + 0.9))
    size["aspect"] = min(size["aspect"], max(2.4, 0.85 * len(opts) + 0.9) / size["height"])
    grid = sns.FacetGrid(
        cells, col="length", col_order=lengths, sharex=False, despine=False, **size
    )
    grid.map_dataframe(_heatmap_panel, archs=archs, opts=opts, cmap=cmap, norm=norm)
    grid.set_titles("length {col_name} tokens")
    grid.set_axis_labels("optimizer", "architecture")
    # memory task: a bidirectional row reads the signal within a few steps (marked)
    marked = [a for a in archs if _arch_label(df, a) != a]
    for ax in grid.axes.flat:
        ax.set_yticklabels([f"{a} \u21c4" if a in marked else a for a in archs])
    empty = len(cells) < len(archs) * len(opts) * len(lengths) or cells["mean"].isna().any()
    fig = _finish(
        grid.figure,
        f"{dataset}: {_metric_label(headline)} by architecture × optimizer\n"
        f"(mean over {seed_note(df)}; diverged runs without a value left out)",
        [],
        [
            f"{FLAG_NOTE}; hatched cell = at least one seed flagged"
            if cells["flagged"].any()
            else "",
            "– = not trained (no block of the grid has this pair) or no finite test value "
            "(every seed diverged or missing)"
            if empty
            else "",
            *(f"{a} {_arch_label(df, a).removeprefix(a + ' (').rstrip(')')}" for a in marked),
        ],
    )
    colours = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
    fig.colorbar(colours, ax=list(grid.axes.flat), label=_metric_label(headline), aspect=12)
    return fig


def _learning_curves(df: pd.DataFrame) -> Figure:
    dataset, headline = df.attrs["dataset"], df.attrs["headline"]
    long, skipped = histories(df)
    if long.empty or not long[["val_loss", "val_metric"]].notna().any().any():
        raise NoData(f"no readable {HISTORY_FILE} with validation values for any run")
    archs = ordered(long["arch"], ARCH_ORDER)
    opts = ordered(df["optimizer"], OPTIMIZER_ORDER)
    lengths = sorted(long["length"].unique())
    palette = _palette(archs)
    dashes = {length: DASHES[i % len(DASHES)] for i, length in enumerate(lengths)}
    shown = lengths if len(lengths) > 1 else []  # one length: no dash legend
    reference = reference_level(df)
    rows = {
        "val_loss": "validation loss\n(cross-entropy, nats)",
        "val_metric": _metric_label(headline, "validation"),
    }
    keys = ["arch", "optimizer", "length", "seed", "flagged", "epoch"]
    data = long.melt(keys, list(rows), "quantity", "y").dropna(subset=["y"])
    # Many overlapping bands turn into mud: fainter the more lines a panel holds.
    lines = len(archs) * len(lengths)
    band_alpha = 0.2 if lines <= 4 else 0.12 if lines <= 10 else 0.06
    facets = {"row": "quantity", "row_order": list(rows), "col": "optimizer", "col_order": opts}
    style = {"style": "length", "style_order": lengths, "dashes": dashes, "lw": 1.8}
    size = {"height": 2.8, "aspect": min(1.6, MAX_WIDTH / len(opts) / 2.8)}
    grid = sns.relplot(
        data=data,
        kind="line",
        x="epoch",
        y="y",
        err_kws={"alpha": band_alpha, "lw": 0},
        facet_kws={"sharey": "row", "despine": False},
        **facets,
        **_hue(archs, palette),
        **style,
        **size,
        **SEABORN,
    )
    flagged, cut = data[data["flagged"]], False
    for (quantity, opt), ax in grid.axes_dict.items():
        if data[(data["quantity"] == quantity) & (data["optimizer"] == opt)].empty:
            ax.text(0.5, 0.5, "no values", transform=ax.transAxes, ha="center", color="0.4")
        # a flagged run: its own curve, dotted, with a red x at its last epoch
        mine = flagged[(flagged["quantity"] == quantity) & (flagged["optimizer"] == opt)]
        for (arch, _, _), run in mine.groupby(["arch", "length", "seed"], sort=True):
            ax.plot(run["epoch"], run["y"], color=palette[arch], ls=":", lw=1.1)
            _mark_flagged(ax, run["epoch"].iloc[-1:], run["y"].iloc[-1:])
        if quantity == "val_metric":
            _reference_line(ax, reference)
        ax.set_title(f"optimizer: {opt}" if quantity == "val_loss" else "")
        ax.set_ylabel(rows[quantity] if opt == opts[0] else "")
        ax.set_xlabel("epoch" if quantity == "val_metric" else "")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    for quantity in rows:
        extra = [reference[0]] if reference and quantity == "val_metric" else []
        axes = [ax for (q, _), ax in grid.axes_dict.items() if q == quantity]
        cut |= _clip(axes, data.loc[data["quantity"] == quantity, "y"], extra)
    curve = {"color": "0.4", "ls": ":", "lw": 1.1, "mec": FLAG_COLOR}
    curve["label"] = "flagged run: own curve, × = last epoch"
    return _finish(
        grid.figure,
        f"{dataset}: learning curves, validation loss and {_metric_label(headline, 'validation')}"
        f" per epoch\n(mean over {seed_note(df)}, band = {CI_NOTE})",
        [
            ("architecture", [_handle(a, color=palette[a], lw=2) for a in archs]),
            ("length", [_handle(f"{n}", color="0.3", lw=1.5, dashes=dashes[n]) for n in shown]),
            ("", [*_reference_handles(reference), *_flag_handles(len(flagged) > 0, **curve)]),
        ],
        [
            runs_note(df[df["flagged"]], "flagged runs, included in the means"),
            f"{skipped} run(s) without a readable {HISTORY_FILE} left out" if skipped else "",
            CUT_NOTE if cut else "",
        ],
    )


def _arch_label(df: pd.DataFrame, arch: str) -> str:
    """The legend's name of ``arch``; on the memory task a bidirectional one is marked as
    reading the signal within k steps (stats.reach_text), k over the dataset's lengths."""
    if not reports_solved([df.attrs.get("task")]) or not stats.is_bidirectional(arch):
        return arch
    signal = numeric(df, "signal_index").dropna()
    at = signal.iloc[0] if len(signal) else None
    steps = sorted({stats.dependency_steps(arch, n, at) for n in df["length"].unique()} - {None})
    reach = stats.reach_text(arch, None)
    if steps:
        reach = reach.replace("from either end", f"within {'/'.join(map(str, steps))} steps")
    return f"{arch} (\u21c4 {reach}: a short dependency)"


def _solved_labels(ax: Any, runs: pd.DataFrame, palette: dict[str, Any], x: str = "length") -> None:
    """Memory task: ``k/n`` seeds solving each point's cell (stats.solved), as the tables."""
    for i, ((arch, at), cell) in enumerate(runs.groupby(["arch", x], sort=True)):
        values = stats.finite(cell["value"])
        if values.size:
            k, n = stats.solved(cell["value"])
            ax.annotate(
                f"{k}/{n}",
                (at, seed_mean(values)),
                xytext=(5, 6 if i % 2 == 0 else -12),
                textcoords="offset points",
                fontsize=8,
                color=palette[arch],
            )


def _line_panels(
    valid: pd.DataFrame,
    x: str,
    col: str,
    col_order: list[Any],
    archs: list[str],
    palette: dict[str, Any],
    **extra: Any,
) -> sns.FacetGrid:
    """Mean test value vs ``x``, one line per architecture, one panel per ``col``, error
    bars the tables' t-interval (SEABORN)."""
    bars = {"err_style": "bars", "err_kws": {"capsize": 4, "elinewidth": 1.2}}
    return sns.relplot(
        data=valid,
        kind="line",
        x=x,
        y="value",
        col=col,
        col_order=col_order,
        marker="o",
        markersize=6,
        lw=1.8,
        facet_kws={"despine": False},
        **_hue(archs, palette),
        **extra,
        **bars,
        **_facet_size(len(col_order), MAX_WIDTH if len(col_order) > 1 else 6.0, 3.2),
        **SEABORN,
    )


def _line_legend(
    df: pd.DataFrame,
    archs: list[str],
    palette: dict[str, Any],
    reference: tuple[float, str] | None,
    memory: bool,
) -> list[tuple[str, list[Any]]]:
    """The legend groups of a line figure: architectures (bidirectional ones marked on
    the memory task), then the reference level, flagged runs and k/n solved."""
    solved = [_handle("k/n" + stats.solved_text(0, 0).removeprefix("0/0"))] if memory else []
    return [
        (
            "architecture",
            [_handle(_arch_label(df, a), color=palette[a], marker="o", lw=2) for a in archs],
        ),
        ("", _reference_handles(reference) + _flag_handles(df["flagged"].any()) + solved),
    ]


def _finish_lines(
    grid: sns.FacetGrid,
    df: pd.DataFrame,
    valid: pd.DataFrame,
    x: tuple[str, str],
    legend: list[tuple[str, list[Any]]],
    notes: list[str],
) -> Figure:
    """Axis labels, y limits, title ("<metric> vs <x[0]>"), legend and notes of a line
    figure; ``x`` is the x quantity (title) and the x axis' label."""
    dataset, headline = df.attrs["dataset"], df.attrs["headline"]
    reference = reference_level(df)
    grid.set_axis_labels(x[1], _metric_label(headline))
    cut = _clip(grid.axes.flat, valid["value"], [reference[0]] if reference else [])
    return _finish(
        grid.figure,
        f"{dataset}: {_metric_label(headline)} vs {x[0]}\n"
        f"(mean over {seed_note(df)}, error bars = {CI_NOTE})",
        legend,
        [
            runs_note(df[df["value"].isna()], "left out, no finite test value"),
            *notes,
            CUT_NOTE if cut else "",
        ],
    )


def _metric_vs_length(df: pd.DataFrame) -> Figure:
    headline = df.attrs["headline"]
    valid = df[df["value"].notna()]
    if valid.empty:
        raise NoData(f"no run has a test {headline} (all diverged or missing)")
    archs = ordered(valid["arch"], ARCH_ORDER)
    opts = ordered(df["optimizer"], OPTIMIZER_ORDER)
    lengths = sorted(df["length"].unique())
    palette = _palette(archs)
    reference = reference_level(df)
    memory = reports_solved([df.attrs["task"]]) and headline == "accuracy"
    grid = _line_panels(valid, "length", "optimizer", opts, archs, palette)
    for opt, ax in grid.axes_dict.items():
        sub = df[df["optimizer"] == opt]
        if not sub["value"].notna().any():
            ax.text(0.5, 0.5, "no values", transform=ax.transAxes, ha="center", color="0.4")
        flagged = sub[sub["flagged"]]
        _mark_flagged(ax, flagged["length"], flagged["value"])
        if memory:
            _solved_labels(ax, sub, palette)
        _reference_line(ax, reference)
        ax.set_xticks(lengths)
        if len(lengths) == 1:
            ax.set_xlim(lengths[0] * 0.8, lengths[0] * 1.2)
        ax.set_title(f"optimizer: {opt}")
        ax.tick_params(labelbottom=True)
    legend = _line_legend(df, archs, palette, reference, memory)
    one = "only one sequence length in this grid" if len(lengths) == 1 else ""
    return _finish_lines(
        grid, df, valid, ("sequence length", "sequence length (tokens)"), legend, [one]
    )


def _metric_vs_cost(df: pd.DataFrame) -> Figure:
    dataset, headline = df.attrs["dataset"], df.attrs["headline"]
    valid = df[df["value"].notna() & (df["seconds_per_epoch"] > 0)]
    if valid.empty:
        raise NoData(f"no run has both a test {headline} and seconds per epoch")
    keys = ["length", "arch", "optimizer"]
    cells = aggregate(valid, keys, "value").merge(
        valid.groupby(keys, as_index=False).agg(seconds=("seconds_per_epoch", "mean")), on=keys
    )
    archs = ordered(cells["arch"], ARCH_ORDER)
    opts = ordered(cells["optimizer"], OPTIMIZER_ORDER)
    lengths = sorted(cells["length"].unique())
    palette = _palette(archs)
    markers = {opt: MARKERS[i % len(MARKERS)] for i, opt in enumerate(opts)}
    log_x = cells["seconds"].max() / cells["seconds"].min() > 20
    style = {"style": "optimizer", "style_order": opts, "markers": markers, "s": 55}
    edges = {"edgecolor": "white", "linewidth": 0.6, "zorder": 3, "legend": False}
    grid = sns.relplot(
        data=cells,
        kind="scatter",
        x="seconds",
        y="mean",
        col="length",
        col_order=lengths,
        facet_kws={"despine": False},
        **_hue(archs, palette),
        **style,
        **edges,
        **_facet_size(len(lengths), MAX_WIDTH, 3.2),
    )
    flagged = valid[valid["flagged"]]
    front_style = {"color": "0.3", "ls": (0, (2, 1.5)), "lw": 1.5}
    for length, ax in grid.axes_dict.items():
        sub = cells[cells["length"] == length]
        front = pareto_front(sub)
        ax.plot(front["seconds"], front["mean"], drawstyle="steps-post", zorder=1, **front_style)
        for row in sub[sub["lo"].notna()].itertuples():
            yerr = [[row.mean - row.lo], [row.hi - row.mean]]
            bar = {"fmt": "none", "ecolor": palette[row.arch], "alpha": 0.6, "lw": 1}
            ax.errorbar(row.seconds, row.mean, yerr=yerr, **bar)
        mine = flagged[flagged["length"] == length]
        _mark_flagged(ax, mine["seconds_per_epoch"], mine["value"])
        ax.set_title(f"length {length} tokens")
        ax.margins(x=0.12)
        ax.tick_params(labelbottom=True)
    if log_x:
        grid.set(xscale="log")
        _plain_log_ticks(grid.axes.flat[0].xaxis)  # shared: every panel
    xlabel = "seconds per epoch (s)" + (", log scale" if log_x else "")
    grid.set_axis_labels(xlabel, _metric_label(headline))
    cut = _clip(grid.axes.flat, valid["value"])
    dropped = df[df["value"].isna() | ~(df["seconds_per_epoch"] > 0)]
    return _finish(
        grid.figure,
        f"{dataset}: cost vs quality, {_metric_label(headline)} vs seconds per epoch\n"
        f"(mean over {seed_note(df)}, error bars = {CI_NOTE})",
        [
            ("architecture", [_handle(a, color=palette[a], marker="o") for a in archs]),
            ("optimizer", [_handle(o, color="0.35", marker=markers[o]) for o in opts]),
            ("", [_handle("Pareto front", **front_style), *_flag_handles(len(flagged) > 0)]),
        ],
        [
            "Pareto front: the points no other point beats on both time and metric",
            runs_note(dropped, "left out, no test value or timing"),
            CUT_NOTE if cut else "",
        ],
    )


def _entity_f1_per_type(df: pd.DataFrame) -> Figure:
    dataset, headline = df.attrs["dataset"], df.attrs["headline"]
    data = entity_f1_bars(df)
    long, archs, labels, order, multi = data.long, data.archs, data.labels, data.order, data.multi
    hue_order = [labels[a] for a in archs]
    palette = {labels[a]: c for a, c in _palette(archs).items()}
    hues = {"hue": "label", "order": order, "hue_order": hue_order, "palette": palette}
    width = min(MAX_WIDTH - 1, max(6.5, 0.16 * len(archs) * len(order) + 2.5))
    bars = {"dodge": True, "capsize": 0.15, "err_kws": {"linewidth": 1.0, "color": "0.2"}}
    size = {"height": 3.8, "aspect": width / 3.8, "facet_kws": {"despine": False}}
    grid = sns.catplot(data=long, kind="bar", x="type", y="f1", **hues, **bars, **size, **SEABORN)
    ax, flagged = grid.ax, long[long["flagged"] & long["f1"].notna()]
    if len(flagged):  # each flagged run's value, on its bar
        marks = {"marker": "x", "size": 6, "linewidth": 1.8, "jitter": False, "legend": False}
        red = {**hues, "palette": dict.fromkeys(hue_order, FLAG_COLOR), "dodge": True}
        sns.stripplot(data=flagged, x="type", y="f1", ax=ax, **red, **marks)
    if OVERALL_F1 in order:  # the overall F1's bars apart from the types'
        ax.axvline(0.5, color="0.6", lw=1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("entity type (sorted by mean F1)")
    ax.set_ylabel(_metric_label("entity_f1"))
    cut = ax.dataLim.y0 < 0 or ax.dataLim.y1 > 1.02
    best = f"; each architecture at its best setting by {data.by} {METRIC_NAMES.get(headline, headline)}"
    bars = [_handle(label, marker="s", color=palette[label], markersize=9) for label in hue_order]
    chosen = long[long["flagged"]].drop_duplicates("run")["run"].tolist()[:6]
    return _finish(
        grid.figure,
        f"{dataset}: test entity F1 per entity type and architecture\n"
        f"(mean over {seed_note(df)}, error bars = {CI_NOTE}{best if multi else ''})",
        [
            ("architecture" + (" (best setting)" if multi else ""), bars),
            ("", _flag_handles(len(flagged) > 0)),
        ],
        [
            f"flagged runs in these bars: {', '.join(chosen)}" if chosen else "",
            "an empty bar: F1 undefined (type absent from test set, or run diverged)",
            CUT_NOTE if cut else "",
        ],
    )


def _metric_vs_train_size(df: pd.DataFrame) -> Figure:
    headline = df.attrs["headline"]
    valid = df[df["value"].notna() & df["train_size"].notna()]
    if valid.empty:
        raise NoData(
            "no run records a training-set size (grid.train_sizes unset: every run used "
            "the whole training split)"
            if df["train_size"].isna().all()
            else f"no run has a test {headline} (all diverged or missing)"
        )
    archs = ordered(valid["arch"], ARCH_ORDER)
    lengths = sorted(valid["length"].unique())
    sizes = sorted(valid["train_size"].unique())
    opts = ordered(valid["optimizer"], OPTIMIZER_ORDER)
    palette = _palette(archs)
    reference = reference_level(df)
    memory = reports_solved([df.attrs["task"]]) and headline == "accuracy"
    styles = {"style": "optimizer", "style_order": opts} if len(opts) > 1 else {}
    grid = _line_panels(valid, "train_size", "length", lengths, archs, palette, **styles)
    for length, ax in grid.axes_dict.items():
        sub = valid[valid["length"] == length]
        flagged = sub[sub["flagged"]]
        _mark_flagged(ax, flagged["train_size"], flagged["value"])
        if memory:
            _solved_labels(ax, sub, palette, x="train_size")
        _reference_line(ax, reference)
        ax.set_xscale("log")
        _plain_log_ticks(ax.xaxis)
        ax.set_xticks(sizes)
        if len(sizes) == 1:
            ax.set_xlim(sizes[0] / 1.5, sizes[0] * 1.5)
        ax.set_title(f"length {length}")
        ax.tick_params(labelbottom=True)
    legend = _line_legend(df, archs, palette, reference, memory)
    notes = [
        "optimizers pooled by line style" if len(opts) > 1 else "",
        "only one training-set size in this grid" if len(sizes) == 1 else "",
    ]
    return _finish_lines(
        grid, df, valid, ("training-set size", "training sequences (log scale)"), legend, notes
    )


BUILDERS: dict[str, Callable[[pd.DataFrame], Figure]] = {
    "heatmap": _heatmap,
    "learning_curves": _learning_curves,
    "metric_vs_length": _metric_vs_length,
    "metric_vs_cost": _metric_vs_cost,
    "entity_f1_per_type": _entity_f1_per_type,
    "metric_vs_train_size": _metric_vs_train_size,
}
TITLES: dict[str, str] = {
    "heatmap": "{metric} by architecture × optimizer",
    "learning_curves": "learning curves",
    "metric_vs_length": "{metric} vs sequence length",
    "metric_vs_cost": "{metric} vs seconds per epoch",
    "entity_f1_per_type": "test entity F1 per entity type",
    "metric_vs_train_size": "{metric} vs training-set size",
}


# --- public API -----------------------------------------------------------------------


def figure(kind: str, runs: pd.DataFrame, dataset: str) -> Figure:
    """Figure ``kind`` of ``dataset`` from the runs table (open: the caller closes it).

    Nothing to draw (no runs, every value NaN, no history) gives a "no data" figure.
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
            return BUILDERS[kind](df)
        except BaseException as err:  # a half-drawn figure must not stay open
            for num in set(plt.get_fignums()) - before:
                plt.close(num)
            if not isinstance(err, NoData):
                raise
            log.warning("%s %s: no data (%s)", dataset, kind, err)
            return _no_data_figure(f"{dataset}: {TITLES[kind].format(metric=metric)}", str(err))


def plot(kind: str, runs: pd.DataFrame, dataset: str, out_svg: str | Path) -> None:
    """Draw figure ``kind`` of ``dataset`` from the runs table into ``out_svg``.

    The format follows the suffix (.svg, .png, .pdf; anything else is SVG). Nothing to
    draw (no runs, every value NaN, no history) gives a "no data" figure, not an error.
    """
    fig = figure(kind, runs, dataset)
    try:
        with _style():
            _save(fig, out_svg)
    finally:
        plt.close(fig)


def plot_all(runs_csv: str | Path, dataset: str, out_dir: str | Path) -> list[str]:
    """Every applicable figure of ``dataset`` as ``out_dir/<kind>.svg``; the paths written."""
    runs = read_runs(runs_csv)
    written = []
    for kind in kinds_for(runs, dataset):
        out = str(Path(out_dir) / f"{kind}.svg")
        plot(kind, runs, dataset, out)
        written.append(out)
    return written
