"""One number format everywhere: the report's tables, its summary and summary.md.

Integers as integers (thousands separated), learning rates and other small
hyperparameters in scientific notation, metrics to 3 decimals with the half-width of
their t-interval (``0.853 ± 0.012``). Missing values (None, NA, NaN, "" read back from a
CSV) format as "".
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

# Hyperparameters shown in scientific notation (a learning rate reads 3e-3, not 0.0030).
SCIENTIFIC: frozenset[str] = frozenset(
    {"lr", "hp_lr", "tuned_lr", "weight_decay", "hp_weight_decay"}
)


def missing(value: Any) -> bool:
    if isinstance(value, str):
        return value == ""
    try:
        return value is None or bool(pd.isna(value))
    except (TypeError, ValueError):  # a list or another non-scalar
        return False


def text(value: Any) -> str:
    return "" if missing(value) else str(value)


def fmt_int(value: Any) -> str:
    """1605729 -> "1,605,729"."""
    return "" if missing(value) else f"{int(value):,}"


def fmt_float(value: Any, digits: int = 3, signed: bool = False) -> str:
    if missing(value) or not math.isfinite(float(value)):
        return ""
    return f"{float(value):{'+' if signed else ''}.{digits}f}"


def fmt_sci(value: Any) -> str:
    """0.003 -> "3e-3", 0.00025 -> "2.5e-4"."""
    number = float(value)
    if number == 0 or not math.isfinite(number):
        return f"{number:g}"
    mantissa, exponent = f"{number:.3e}".split("e")
    return f"{float(mantissa):g}e{int(exponent)}"


def fmt_value(value: Any, column: str = "") -> str:
    """A parameter's value: scientific for learning rates, integers as integers."""
    if missing(value) or isinstance(value, bool):
        return text(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if column in SCIENTIFIC:
        return fmt_sci(number)
    return str(int(number)) if number.is_integer() else f"{number:g}"


def fmt_ci(mean: Any, low: Any, high: Any, digits: int = 3) -> str:
    """``mean ± half-width`` of a symmetric t-interval; the mean alone without one."""
    centre = fmt_float(mean, digits)
    if not centre or missing(low) or missing(high):
        return centre
    half = fmt_float((float(high) - float(low)) / 2, digits)
    return f"{centre} ± {half}" if half else centre


def setting_text(setting: Mapping[str, Any]) -> str:
    """``{"optimizer": "adam", "hp_lr": 0.001}`` -> "optimizer adam · lr 1e-3"."""
    return " · ".join(
        f"{name.removeprefix('hp_')} {fmt_value(value, name)}"
        for name, value in setting.items()
        if not missing(value)
    )
