"""Published vs measured: each published number beside what this pipeline measured.

A preset (``presets/*.yaml``) carries its source's numbers as the config's ``published``
list; each entry names one grid cell (dataset, arch, optimizer, length), a metric (a
``test_<metric>`` column of runs.csv without the prefix) and the published value. The
table gives the measured mean over the cell's seeds with its t confidence interval, the
difference (measured - published), the runs' flags and a verdict:

- ``published value not credible: <reason>`` when the entry says ``credible: false``
  (seed C's 99% at an untrained loss, seed E's accuracy counting padding): the measured
  figure is shown beside it, but the published one is never "reproduced";
- ``not measured`` when the cell has no run, or no run with a finite score (diverged);
- ``inconclusive (n seeds)`` when fewer than MIN_SEEDS (3) runs are scored, or when the
  confidence interval is so wide that it holds the published value and values that
  would not reproduce it (see :func:`verdict` for the exact rule);
- ``reproduced`` when ``|difference| <= tolerance``; for a published bound
  (``relation: at_least`` / ``at_most``, e.g. "> 0.90 up to length 150") when the
  measurement meets it within the tolerance;
- ``not reproduced`` otherwise (better or worse: the number differs).

A cell trained at several training-set sizes (grid.train_sizes; runs.csv's ``train_size``)
gives one row per size, smallest first, each with its own verdict: where a source gives
no sample count, the table says at which size, if any, its number holds. The
``train_size`` column is there only when some row has a size.

An entry may name a ``control``: the same architecture and length in another dataset of
the same data (e.g. seed C's grid on models that can learn, at tuned lrs). Its measured
mean, interval and seeds stand beside the published number (column ``control``), so a
"not credible" verdict shows what the model does when it does learn.

For the memory task the table also gives the fraction of the cell's seeds that solve it
(test accuracy >= stats.SOLVED_ACCURACY, e.g. "2/3 solved (acc >= 0.9)"): a mean
over seeds that solved it and seeds at chance describes none of them.

This module computes the table; :mod:`rnnbench.analysis.published_page` formats it and
writes it (CSV and HTML page).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from rnnbench.analysis import stats
from rnnbench.analysis.collect import AnalysisError
from rnnbench.analysis.formats import fmt_ci, fmt_value
from rnnbench.analysis.sanity import union_flags
from rnnbench.published_names import CONFIDENCE, TOLERANCE

# Float noise must not turn |0.532 - 0.512| = 0.020000000000000018 into "not reproduced".
_EPS = 1e-9

# A verdict needs this many scored seeds: fewer give an interval too wide (t with 1 degree
# of freedom is 12.7) or none at all, and one lucky or unlucky seed would decide.
MIN_SEEDS = 3

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
NOT_MEASURED = "not measured"
INCONCLUSIVE = "inconclusive"
NOT_CREDIBLE = "published value not credible"

APPROX, AT_LEAST, AT_MOST = "approx", "at_least", "at_most"
RELATIONS: tuple[str, ...] = (APPROX, AT_LEAST, AT_MOST)
RELATION_SIGN = {APPROX: "", AT_LEAST: "\u2265 ", AT_MOST: "\u2264 "}

CELL_KEYS: tuple[str, ...] = ("dataset", "arch", "optimizer", "length")
REQUIRED_KEYS: tuple[str, ...] = ("source", *CELL_KEYS, "metric", "value")
OPTIONAL_KEYS: tuple[str, ...] = (
    "relation",
    "credible",
    "reason",
    "note",
    "extra_metrics",
    "control",
)
COLUMNS: tuple[str, ...] = (
    "source",
    "dataset",
    "arch",
    "optimizer",
    "length",
    "train_size",
    "metric",
    "published",
    "measured",
    "solved",
    "n_seeds",
    "n_scored",
    "ci_low",
    "ci_high",
    "difference",
    "flags",
    "verdict",
    "relation",
    "also_measured",
    "control",
    "note",
)
_METRIC = re.compile(r"^[a-z][a-z0-9_]*$")


# --- entries ---------------------------------------------------------------------------


def normalize_entry(entry: Any, index: int = 0) -> dict[str, Any]:
    """One ``published`` entry checked against the config schema's own ``published``
    items and with their defaults; AnalysisError names it. (The workflow checks the same
    when it is parsed; this check is for the command line, which may be given any JSON.)"""
    from rnnbench.config import validate_part
    from rnnbench.errors import ConfigError

    where = f"published[{index}]"
    if isinstance(entry, Mapping):
        where += f" ({entry.get('source', '?')})"
    if isinstance(entry, Mapping):  # a normalized entry's "" means "not given"
        entry = {
            k: v
            for k, v in entry.items()
            if not (k in ("reason", "note") and v == "") and not (k == "control" and v is None)
        }
    try:
        out = validate_part(entry, "properties/published/items", where)
    except ConfigError as err:
        raise AnalysisError(str(err)) from None
    return {
        **{key: out[key] for key in REQUIRED_KEYS},
        "relation": out["relation"],
        "credible": out["credible"],
        "reason": out.get("reason") or "",
        "note": out.get("note") or "",
        "extra_metrics": list(out["extra_metrics"]),
        "control": out.get("control"),
    }


def load_published(text: str) -> list[dict[str, Any]]:
    """The ``--config-json`` argument: the ``published`` list (or a config holding it)."""
    try:
        data = json.loads(text)
    except ValueError as err:
        raise AnalysisError(f"--config-json: not JSON: {err}") from None
    if isinstance(data, Mapping):
        data = data.get("published", [])
    if not isinstance(data, list):
        raise AnalysisError("--config-json: expected the `published` list of entries")
    return [normalize_entry(entry, i) for i, entry in enumerate(data)]


# --- the table -------------------------------------------------------------------------


def _cell_rows(runs: pd.DataFrame, entry: dict[str, Any]) -> pd.DataFrame:
    if runs.empty or not set(CELL_KEYS) <= set(runs.columns):
        return runs.iloc[0:0]
    lengths = pd.to_numeric(runs["length"], errors="coerce")
    mask = (
        (runs["dataset"].astype(str) == str(entry["dataset"]))
        & (runs["arch"].astype(str) == str(entry["arch"]))
        & (runs["optimizer"].astype(str) == str(entry["optimizer"]))
        & (lengths == int(entry["length"]))
    )
    return runs[mask]


def _scores(rows: pd.DataFrame, metric: str, entry: dict[str, Any]) -> list[float]:
    column = f"test_{metric}"
    if column not in rows.columns:
        known = sorted(c.removeprefix("test_") for c in rows.columns if c.startswith("test_"))
        raise AnalysisError(
            f"published entry {entry['source']!r} ({entry['dataset']}/{entry['arch']}/"
            f"{entry['optimizer']}/len{entry['length']}): runs.csv has no column {column!r}; "
            f"test metrics there: {known}"
        )
    return pd.to_numeric(rows[column], errors="coerce").tolist()


def inconclusive(n_scored: int, wide: bool = False) -> str:
    """The inconclusive verdict's text, e.g. "inconclusive (2 seeds)"."""
    seeds = f"{n_scored} seed{'' if n_scored == 1 else 's'}"
    return f"{INCONCLUSIVE} ({seeds}{': interval spans both outcomes' if wide else ''})"


def verdict(
    entry: dict[str, Any],
    measured: float,
    ci_low: float,
    ci_high: float,
    tolerance: float = TOLERANCE,
    *,
    n_scored: int,
) -> str:
    """The verdict of one entry; ``entry`` as normalize_entry gives, ``measured`` the mean
    over the ``n_scored`` finite scores, ``[ci_low, ci_high]`` its t interval.

    With published value v and tolerance tol, the *reproducing band* is the set of means
    that reproduce v: ``[v - tol, v + tol]`` (relation approx), ``[v - tol, inf)``
    (at_least) or ``(-inf, v + tol]`` (at_most); its edges are inclusive (up to float
    noise). In order:

    1. ``published value not credible: <reason>`` when ``entry["credible"]`` is false;
    2. ``not measured`` when no score is finite (n_scored == 0);
    3. ``inconclusive (n seeds)`` when ``n_scored < MIN_SEEDS`` (3);
    4. ``inconclusive (n seeds: interval spans both outcomes)`` when the interval holds
       the published value, ``ci_low <= v <= ci_high``, and reaches outside the band,
       ``ci_low < v - tol`` or (approx, at_most) ``ci_high > v + tol``: the data fit
       both "reproduced" (v itself) and "not reproduced";
    5. ``reproduced`` when the mean lies in the band;
    6. ``not reproduced`` otherwise.

    So an interval that misses v decides by its mean (a tight interval just beside the
    band is "not reproduced"), and one inside the band is "reproduced".
    """
    if not entry["credible"]:
        return f"{NOT_CREDIBLE}: {entry['reason']}"
    if not math.isfinite(measured) or n_scored == 0:
        return NOT_MEASURED
    if n_scored < MIN_SEEDS:
        return inconclusive(n_scored)
    value, relation = float(entry["value"]), entry["relation"]
    low = value - tolerance - _EPS if relation in (APPROX, AT_LEAST) else -math.inf
    high = value + tolerance + _EPS if relation in (APPROX, AT_MOST) else math.inf
    if math.isfinite(ci_low) and math.isfinite(ci_high):
        holds_published = ci_low <= value <= ci_high
        if holds_published and (ci_low < low or ci_high > high):
            return inconclusive(n_scored, wide=True)
    return REPRODUCED if low <= measured <= high else NOT_REPRODUCED


def published_vs_measured(
    runs: pd.DataFrame,
    published: Sequence[Mapping[str, Any]],
    tolerance: float = TOLERANCE,
    *,
    confidence: float = CONFIDENCE,
) -> pd.DataFrame:
    """One row per published entry, in the given order (see the module doc).

    ``runs`` is runs.csv (one row per run); ``measured`` is the mean of ``test_<metric>``
    over the cell's seeds, ``ci_low``/``ci_high`` its t interval (NaN for one seed),
    ``n_seeds`` the cell's runs and ``n_scored`` those with a finite score; ``solved``
    the memory task's solved fraction ("" for other tasks).
    """
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    rows: list[dict[str, Any]] = []
    for index, raw in enumerate(published):
        entry = normalize_entry(raw, index)
        for size, cell in _by_size(_cell_rows(runs, entry)):
            rows.append(
                {
                    **_row(entry, cell, size, tolerance, confidence),
                    "control": control_text(runs, entry, confidence),
                }
            )
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    table["length"] = pd.to_numeric(table["length"]).astype("Int64")
    for column in ("n_seeds", "n_scored", "train_size"):
        table[column] = pd.to_numeric(table[column]).astype("Int64")
    if table["train_size"].isna().all():
        table = table.drop(columns="train_size")  # no grid.train_sizes: as before
    table.attrs.update({"tolerance": tolerance, "confidence": confidence})
    return table


def _by_size(cell: pd.DataFrame) -> list[tuple[int | None, pd.DataFrame]]:
    """The cell's runs per training-set size, smallest first (one group, size None, when
    no run records a size)."""
    if "train_size" not in cell or cell["train_size"].isna().all():
        return [(None, cell)]
    sizes = pd.to_numeric(cell["train_size"], errors="coerce")
    return [(int(s), cell[sizes == s]) for s in sorted(sizes.dropna().unique())]


def _row(
    entry: dict[str, Any],
    cell: pd.DataFrame,
    size: int | None,
    tolerance: float,
    confidence: float,
) -> dict[str, Any]:
    """The table row of one published entry and one training-set size of its cell."""
    scores = [] if cell.empty else _scores(cell, entry["metric"], entry)
    mean, _sd, lo, hi = stats.mean_sd_ci(scores, confidence)
    n_scored = int(stats.finite(scores).size)
    also = []
    for name in entry["extra_metrics"]:
        column = f"test_{name}"
        values = [] if column not in cell.columns else cell[column].tolist()
        extra_mean = stats.mean_sd_ci(values, confidence)[0] if len(values) else math.nan
        also.append(f"{name} {extra_mean:.4f}" if math.isfinite(extra_mean) else f"{name} -")
    return {
        **{key: entry[key] for key in ("source", *CELL_KEYS, "metric")},
        "train_size": size,
        "published": float(entry["value"]),
        "measured": mean,
        "solved": stats.cell_solved_text(cell),
        "n_seeds": len(cell),
        "n_scored": n_scored,
        "ci_low": lo,
        "ci_high": hi,
        "difference": mean - float(entry["value"]),
        "flags": union_flags(cell["flags"].tolist())[0] if "flags" in cell else "",
        "verdict": verdict(entry, mean, lo, hi, tolerance, n_scored=n_scored),
        "relation": entry["relation"],
        "also_measured": "; ".join(also),
        "note": entry["note"],
    }


def control_text(runs: pd.DataFrame, entry: Mapping[str, Any], confidence: float) -> str:
    """The entry's control cell, measured: "0.861 ± 0.004 (3 seeds; <dataset> <arch>/
    <optimizer>, tuned lr 1e-3)"; "" without a control, "not measured" without its runs."""
    control = entry.get("control")
    if not control:
        return ""
    cell = {**entry, "dataset": control["dataset"]}
    cell["optimizer"] = control.get("optimizer") or entry["optimizer"]
    rows = _cell_rows(runs, cell)
    name = f"{cell['dataset']} {cell['arch']}/{cell['optimizer']}"
    scores = _scores(rows, entry["metric"], cell) if not rows.empty else []
    mean, _sd, lo, hi = stats.mean_sd_ci(scores, confidence)
    if not math.isfinite(mean):
        return f"not measured ({name})"
    n = int(stats.finite(scores).size)
    lrs = pd.to_numeric(rows.get("hp_lr"), errors="coerce").dropna().unique()
    tuned = "lr_tuned" in rows and rows["lr_tuned"].astype(str).str.lower().eq("true").all()
    lr = f", {'tuned ' if tuned else ''}lr {fmt_value(lrs[0], 'hp_lr')}" if len(lrs) == 1 else ""
    flags = union_flags(rows["flags"].tolist())[0] if "flags" in rows else ""
    flagged = f"; flagged: {flags.replace(';', ', ')}" if flags else ""
    return f"{fmt_ci(mean, lo, hi)} ({n} seeds; {name}{lr}{flagged})"


# --- verdict words ---------------------------------------------------------------------


def short_verdict(verdict_text: str) -> str:
    """The verdict in a word or two ("not credible", "inconclusive", ...); with spaces
    as hyphens, also its row's CSS class."""
    if verdict_text.startswith(NOT_CREDIBLE):
        return "not credible"
    if verdict_text.startswith(INCONCLUSIVE):
        return INCONCLUSIVE
    return verdict_text if verdict_text in (REPRODUCED, NOT_REPRODUCED) else NOT_MEASURED
