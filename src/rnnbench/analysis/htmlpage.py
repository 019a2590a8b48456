"""The small self-contained HTML pages of the report's tables, built with pandas' Styler.

Every table page shares one stylesheet: the header row stays in view while the table
scrolls (sticky), long text wraps inside its cell (no horizontal scrolling in the
report's frame at 1366 px), numbers are right-aligned with tabular digits. The format
helpers give one number format everywhere: integers as integers (thousands separated),
learning rates and other small hyperparameters in scientific notation, metrics to 3
decimals with the half-width of their t-interval (``0.853 ± 0.012``).
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
from pandas.io.formats.style import Styler

CSS = """
body { font-family: system-ui, sans-serif; margin: 0.6em 0.8em; color: #222; font-size: 14px; }
h2 { font-size: 1.15em; margin: 0 0 0.4em; }
table.rb { border-collapse: separate; border-spacing: 0; width: 100%; font-size: 0.9em; }
table.rb caption { caption-side: top; text-align: left; padding: 0 0 0.4em; color: #444; }
table.rb th, table.rb td { border-bottom: 1px solid #ddd; padding: 0.25em 0.45em;
  text-align: left; vertical-align: top; overflow-wrap: break-word; }
table.rb thead th { position: sticky; top: 0; z-index: 1; background: #eee;
  border-bottom: 2px solid #999; }
table.rb td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.rb td.metric { white-space: nowrap; }
details > summary { cursor: pointer; }
.legend { font-size: 0.85em; max-width: 62em; }
p.note { font-size: 0.9em; color: #7a4b00; max-width: 62em; }
"""

# Hyperparameters shown in scientific notation (a learning rate reads 3e-3, not 0.0030).
SCIENTIFIC: frozenset[str] = frozenset(
    {"lr", "hp_lr", "tuned_lr", "weight_decay", "hp_weight_decay"}
)


def missing(value: Any) -> bool:
    """None, NA and NaN (and "" read back from a CSV) are missing."""
    if value is None or value is pd.NA:
        return True
    if isinstance(value, str):
        return value == ""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def text(value: Any) -> str:
    return "" if missing(value) else str(value)


def fmt_int(value: Any) -> str:
    """An integer with thousands separators (1,605,729); "" when missing."""
    return "" if missing(value) else f"{int(value):,}"


def fmt_float(value: Any, digits: int = 3, signed: bool = False) -> str:
    if missing(value) or not math.isfinite(float(value)):
        return ""
    return f"{float(value):+.{digits}f}" if signed else f"{float(value):.{digits}f}"


def fmt_sci(value: Any) -> str:
    """Scientific notation without padding: 0.003 -> "3e-3", 0.00025 -> "2.5e-4"."""
    if missing(value):
        return ""
    number = float(value)
    if number == 0 or not math.isfinite(number):
        return f"{number:g}"
    mantissa, exponent = f"{number:.3e}".split("e")
    return f"{float(mantissa):g}e{int(exponent)}"


def fmt_value(value: Any, column: str = "") -> str:
    """A parameter's value: scientific for learning rates, integers as integers."""
    if missing(value):
        return ""
    if column in SCIENTIFIC:
        try:
            return fmt_sci(value)
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int) or (isinstance(value, float) and float(value).is_integer()):
        return f"{int(value)}"
    if isinstance(value, float):
        return f"{value:g}"
    try:
        as_int = int(value)
    except (TypeError, ValueError):
        return str(value)
    return str(as_int) if as_int == value else str(value)


def fmt_ci(mean: Any, low: Any, high: Any, digits: int = 3) -> str:
    """``mean ± half-width`` of a symmetric t-interval; the mean alone without one."""
    centre = fmt_float(mean, digits)
    if not centre:
        return ""
    if missing(low) or missing(high) or not math.isfinite(float(high) - float(low)):
        return centre
    return f"{centre} ± {(float(high) - float(low)) / 2:.{digits}f}"


def setting_text(setting: Mapping[str, Any]) -> str:
    """``{"optimizer": "adam", "hp_lr": 0.001}`` -> "optimizer adam · lr 1e-3"."""
    return " · ".join(
        f"{name.removeprefix('hp_')} {fmt_value(value, name)}"
        for name, value in setting.items()
        if not missing(value)
    )


def styled_table(
    frame: pd.DataFrame,
    *,
    classes: pd.DataFrame | None = None,
    caption: str = "",
    numeric: Iterable[str] = (),
    nowrap: Iterable[str] = (),
) -> str:
    """The display frame (already formatted text, HTML allowed) as a Styler table.

    ``classes`` (same shape) adds CSS classes per cell; ``numeric`` columns are
    right-aligned, ``nowrap`` columns keep a metric and its interval on one line.
    """
    cell_classes = pd.DataFrame("", index=frame.index, columns=frame.columns)
    if classes is not None:
        cell_classes = classes.reindex(index=frame.index, columns=frame.columns)
    cell_classes = cell_classes.astype(object).fillna("").astype(str)
    for column in numeric:
        if column in cell_classes:
            cell_classes[column] = (cell_classes[column] + " num").str.strip()
    for column in nowrap:
        if column in cell_classes:
            cell_classes[column] = (cell_classes[column] + " metric").str.strip()
    styler = (
        Styler(frame, uuid="rb", cell_ids=False)
        .hide(axis="index")
        .set_td_classes(cell_classes)
        .set_table_attributes('class="rb"')
    )
    if caption:
        styler = styler.set_caption(caption)
    return styler.to_html()


def page(title: str, *parts: str, css: str = "") -> str:
    """A self-contained HTML page (inline CSS, no script): the title, then ``parts``."""
    head = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title>",
        f"<style>{CSS}{css}</style></head><body>",
        f"<h2>{html.escape(title)}</h2>",
    ]
    return "\n".join([*head, *parts, "</body></html>"]) + "\n"


def legend(items: Iterable[str]) -> str:
    return '<div class="legend"><ul>' + "".join(f"<li>{i}</li>" for i in items) + "</ul></div>"
