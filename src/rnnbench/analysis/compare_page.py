"""The comparison table as the report shows it: formatted columns, an HTML page, files.

:func:`rnnbench.analysis.compare.comparison_table` computes the table (full precision,
one row per cell or baseline); this module only formats and writes it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from rnnbench.analysis import stats
from rnnbench.analysis.collect import HP_PREFIX
from rnnbench.analysis.compare import BASELINE_PREFIX, KIND_BASELINE, STAT_COLUMNS
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
from rnnbench.io import atomic_path, write_text_atomic

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
