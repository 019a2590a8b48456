"""The lr-sensitivity figure of a tuned dataset, from its selection files.

``lr_figure(selected_paths, dataset, out_svg)`` draws the validation headline metric of
every tuning trial against its learning rate (log x axis), one panel per sequence length;
the selected lr of each line is ringed. When an architecture is tuned with several
optimizers, each architecture gets its own row of panels and each optimizer one line, in
the same colour in every panel (the optimizer question); otherwise one line per
architecture / optimizer. A selection at the edge of its candidates is ringed by a square
instead (the best lr may lie beyond: widen the range). The
numbers come from the ``selected.json`` files (rnnbench.experiment.tuning), which hold every trial's
validation score, so the figure shows exactly what the selection saw. Diverged trials
(no validation score) are marked with an "x" on the panel's bottom edge.
:mod:`rnnbench.analysis.lr_trials` reads the files and arranges the panels; this module
draws them.

Output is deterministic as in :mod:`rnnbench.analysis.plots` (salted SVG ids, text kept
as text, no date).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from rnnbench.analysis.lr_trials import figure_data, read_selections
from rnnbench.io import atomic_path

log = logging.getLogger("rnnbench.analysis.lr_figure")

RC: dict[str, Any] = {
    "svg.hashsalt": "rnnbench",
    "svg.fonttype": "none",
    "font.size": 10,
    "axes.titlesize": 11,
    "legend.fontsize": 9,
}
SELECTED_RING, EDGE_RING = "o", "s"  # around the selected lr; a square at the edge
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "h", "<", ">")


def draw(selections: list[dict[str, Any]], dataset: str) -> plt.Figure:
    """The figure (see the module doc); a "no data" figure when there is nothing."""
    data = figure_data(selections, dataset)
    if not data.rows:
        fig, ax = plt.subplots(figsize=(6.4, 3.0), layout="constrained")
        ax.set_axis_off()
        ax.text(0.5, 0.5, "no data: no tuned cells", ha="center", va="center", color="0.35")
        fig.suptitle(data.title)
        return fig
    rows, columns = len(data.rows), len(data.rows[0])
    fig, axes = plt.subplots(
        rows,
        columns,
        figsize=(4.2 * columns + 2.2, 3.6 * rows),
        squeeze=False,
        sharey=True,
        sharex=True,
        layout="constrained",
    )
    colors = plt.get_cmap("tab10")
    for row_axes, row in zip(axes, data.rows, strict=True):
        for ax, panel in zip(row_axes, row, strict=True):
            for line in panel.lines:
                style = line.style
                _draw_line(
                    ax, line.record, colors(style % 10), MARKERS[style % len(MARKERS)], line.label
                )
            _lr_axis(ax, panel.title)
        row_axes[0].set_ylabel(data.metric)
    fig.legend(*_legend(axes, data.edges), loc="outside right center", frameon=False)
    fig.suptitle(data.title)
    fig.text(0.01, 0.0, data.note, ha="left", va="top", fontsize=8.5, color="0.25")
    return fig


def _lr_axis(ax: plt.Axes, title: str) -> None:
    """A panel's log learning-rate axis (ticks at 1, 2 and 5 per decade), title and grid."""
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_title(title)
    ax.set_xlabel("learning rate (log scale)")
    ax.grid(True, which="major", alpha=0.4)


def _legend(axes: Any, edges: int) -> tuple[list[Any], list[str]]:
    """One entry per line label over all panels, then the rings' meaning."""
    handles, labels = axes[0][0].get_legend_handles_labels()
    for ax in axes.flat[1:]:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    handles.append(_ring(SELECTED_RING, "0.3", 10))
    labels.append("selected lr")
    if edges:
        handles.append(_ring(EDGE_RING, "0.3", 10))
        labels.append("selected lr at the edge of its candidates")
    return handles, labels


def _ring(
    marker: str, color: Any, size: float, x: list[float] | None = None, y: list[float] | None = None
) -> plt.Line2D:
    """An open marker around a selected lr (a legend handle without ``x``/``y``)."""
    return plt.Line2D(
        x or [],
        y or [],
        linestyle="none",
        marker=marker,
        markersize=size,
        markerfacecolor="none",
        markeredgecolor=color,
        markeredgewidth=2,
    )


def _draw_line(ax: plt.Axes, record: dict[str, Any], color: Any, marker: str, label: str) -> None:
    """One selection's trials as a line, its selected lr ringed (a square at the edge of the
    candidates), diverged trials as "x" on the bottom edge."""
    scored = [t for t in record["trials"] if t.get("validation") is not None]
    ax.plot(
        [t["lr"] for t in scored],
        [t["validation"] for t in scored],
        color=color,
        marker=marker,
        label=label,
    )
    ring = EDGE_RING if record.get("at_edge") else SELECTED_RING
    ax.add_line(_ring(ring, color, 14, [record["selected_lr"]], [record["selected_validation"]]))
    failed = [t["lr"] for t in record["trials"] if t.get("validation") is None]
    if failed:
        ax.plot(
            failed,
            [0.0] * len(failed),
            linestyle="none",
            marker="x",
            color=color,
            transform=ax.get_xaxis_transform(),
            clip_on=False,
        )


def lr_figure(selected_paths: list[str | Path], dataset: str, out_svg: str | Path) -> None:
    with plt.rc_context(RC):
        fig = draw(read_selections(selected_paths), dataset)
        with atomic_path(out_svg) as tmp:
            fig.savefig(tmp, format="svg", bbox_inches="tight", metadata={"Date": None})
        plt.close(fig)
