"""The report's table pages: pandas' Styler renders the table, a Jinja template
(templates/table_page.html.j2) the page around it: its stylesheet and its legend.

Every page is self-contained (inline CSS, no script). Its header row stays in view while
the table scrolls (sticky), long text wraps inside its cell (no horizontal scrolling in
the report's frame at 1366 px), and numeric columns are right-aligned, never wrapped.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import jinja2
import pandas as pd
from pandas.io.formats.style import Styler

from rnnbench.analysis import stats
from rnnbench.analysis.sanity import FLAG_HELP

_TEMPLATES = jinja2.Environment(loader=jinja2.PackageLoader("rnnbench.analysis"), autoescape=True)
# A formatted number, alone or with an interval, bound, count of seeds or percentage.
_NUMERIC = re.compile(r"[<>≥≤]? ?[-+]?[\d,.]+(e-?\d+)?(%| ± [\d.]+|/\d+| \(\d+ scored\))?")


def styled_table(
    frame: pd.DataFrame,
    *,
    row_classes: Sequence[str] = (),
    column_classes: Mapping[str, str] | None = None,
    raw: Iterable[str] = (),
    caption: str = "",
) -> str:
    """The display frame (formatted text) as an HTML table. The caption and the cells are
    escaped, except in the ``raw`` columns (HTML already). Each row's cells carry its
    ``row_classes`` entry, each column's its ``column_classes`` entry, and columns
    whose values are all numbers "num"."""
    classes = pd.DataFrame(
        {c: list(row_classes) or "" for c in frame.columns}, index=frame.index, dtype=object
    )
    for column, values in frame.items():
        filled = values[values != ""].astype(str)
        numeric = len(filled) and filled.str.fullmatch(_NUMERIC).all()
        extra = [(column_classes or {}).get(column, ""), "num" if numeric else ""]
        classes[column] = classes[column] + " " + " ".join(extra)
    escaped = [c for c in frame.columns if c not in set(raw)]
    styler = (
        Styler(frame, uuid="rb", cell_ids=False, caption=html.escape(caption) or None)
        .hide(axis="index")
        .set_td_classes(classes.apply(lambda column: column.str.split().str.join(" ")))
        .set_table_attributes('class="rb"')
    )
    if escaped:
        styler = styler.format(escape="html", subset=escaped)
    return styler.to_html()


def page(title: str, table: str, kind: str = "", **legend: Any) -> str:
    """The page of one table; ``kind`` ("comparison", "published") picks its legend,
    ``legend`` fills it in."""
    template = _TEMPLATES.get_template("table_page.html.j2")
    shared = {"flags": FLAG_HELP, "solved_accuracy": f"{stats.SOLVED_ACCURACY:g}"}
    return template.render(title=title, table=table, kind=kind, **shared, **legend)
