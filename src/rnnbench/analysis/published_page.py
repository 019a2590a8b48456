"""The published-vs-measured table as the report shows it: formatted, an HTML page, files.

:func:`rnnbench.analysis.published.published_vs_measured` computes the table (full
precision, one row per entry and training-set size); this module only formats and
writes it.
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from rnnbench.analysis.formats import fmt_ci, fmt_float, fmt_value, text
from rnnbench.analysis.htmlpage import page, styled_table
from rnnbench.analysis.published import MIN_SEEDS, RELATION_SIGN, short_verdict
from rnnbench.io import atomic_path, write_text_atomic
from rnnbench.published_names import CONFIDENCE, TOLERANCE


def _verdict_cell(row: pd.Series) -> str:
    """The short verdict; the full verdict, flags, other metrics and note when opened."""
    details = [
        f"<b>{name}</b>: {html.escape(text(row.get(key)).replace(';', ', '))}"
        for name, key in (
            ("verdict", "verdict"),
            ("flags", "flags"),
            ("also measured", "also_measured"),
            ("note", "note"),
        )
        if text(row.get(key))
    ]
    summary = html.escape(short_verdict(str(row["verdict"])))
    return f"<details><summary>{summary}</summary>" + "<br>".join(details) + "</details>"


def _size_text(table: pd.DataFrame) -> pd.Series | str:
    """ " · 4,000 training sequences" per row of a table with sizes ("" otherwise)."""
    if "train_size" not in table:
        return ""
    return table["train_size"].map(
        lambda s: "" if pd.isna(s) else f" · {int(s):,} training sequences"
    )


def display_frame(table: pd.DataFrame) -> pd.DataFrame:
    """The table as the report shows it (formatted text, HTML in the verdict column)."""
    if table.empty:
        return pd.DataFrame(columns=["source", "cell", "metric (test)", "published", "verdict"])
    confidence = float(table.attrs.get("confidence", CONFIDENCE))
    scored = table.get("n_scored", table["n_seeds"]).fillna(table["n_seeds"])
    columns = {
        "source": table["source"].map(str),
        "cell": table[["dataset", "arch", "optimizer"]].astype(str).agg(" · ".join, axis=1)
        + " · len "
        + table["length"].map(fmt_value)
        + _size_text(table),
        "metric (test)": table["metric"].map(str).str.replace("_", " "),
        "published": [
            RELATION_SIGN.get(r, "") + f"{float(v):g}"
            for r, v in zip(table["relation"], table["published"], strict=True)
        ],
        f"measured (± {confidence:.0%} CI)": [
            fmt_ci(*ci)
            for ci in zip(table["measured"], table["ci_low"], table["ci_high"], strict=True)
        ],
        "solved": table["solved"].map(text).str.split(" ").str[0] if "solved" in table else "",
        "seeds": [
            f"{n}" if s == n else f"{n} ({s} scored)"
            for n, s in zip(table["n_seeds"], scored, strict=True)
        ],
        "difference": table["difference"].map(lambda d: fmt_float(d, signed=True)),
        "control": table["control"].map(text) if "control" in table else "",
        "verdict": [_verdict_cell(row) for _, row in table.iterrows()],
    }
    frame = pd.DataFrame(columns, index=table.index).reset_index(drop=True)
    empty = [c for c in ("solved", "control") if not any(frame[c])]
    return frame.drop(columns=empty)


def render_html(table: pd.DataFrame, title: str = "Published vs measured") -> str:
    """A self-contained HTML page (inline CSS, no script) of a published-vs-measured table."""
    frame = display_frame(table)
    empty = "<p>No published numbers are configured (config key <code>published</code>).</p>"
    return page(
        title,
        styled_table(
            frame,
            row_classes=[short_verdict(str(v)).replace(" ", "-") for v in table["verdict"]],
            column_classes={"verdict": "verdict"},
            raw=["verdict"],
        ),
        "published",
        intro=empty if table.empty else "",
        confidence=float(table.attrs.get("confidence", CONFIDENCE)),
        tolerance=f"{float(table.attrs.get('tolerance', TOLERANCE)):g}",
        least=MIN_SEEDS,
        solved="solved" in frame,
    )


def write_published(
    table: pd.DataFrame,
    csv_path: str | Path,
    html_path: str | Path,
    title: str = "Published vs measured",
) -> None:
    """Write the table as CSV (full precision) and as an HTML page, both atomically."""
    with atomic_path(csv_path) as tmp:
        table.to_csv(tmp, index=False)
    write_text_atomic(html_path, render_html(table, title))
