"""Statistics over seeds: mean, SD and t confidence interval; Welch's test; best-cell marking.

Every function drops non-finite values first: a run that diverged before any epoch has
no test score (NaN in runs.csv), and it must neither poison a mean nor count as a seed.
Its absence is visible in the comparison table (``n_scored`` below ``n_seeds``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple, TypeVar

import numpy as np
from scipy import stats

from rnnbench.experiment.tasks import reports_solved

ALPHA = 0.05  # significance level of "not significantly worse than the best"
# One-sided by default: the question asked of each cell is "is it worse than the best?",
# not "does it differ?". Two-sided p-values are twice as large, so "two-sided" marks
# more cells as tied with the best; pass it to mark_best for the more cautious table.
DEFAULT_ALTERNATIVE = "less"

MARK_BEST = "best"
MARK_NOT_WORSE = "not significantly worse"
# A cell needs this many scored seeds for any mark: with one seed there is no variance,
# so neither "best" nor "not significantly worse" can be backed by a test.
MIN_SEEDS_TO_MARK = 2

# The memory task (seed B) is "solved" by a seed whose test accuracy reaches this: the
# tables report how many of a cell's seeds solve it beside the mean, since a mean of
# 0.75 may be three seeds at 0.75 or two that solved it and one at chance.
SOLVED_ACCURACY = 0.9

K = TypeVar("K", bound=Hashable)


def is_bidirectional(arch: str) -> bool:
    """Whether ``arch`` reads the sequence from both ends (the registry's ``bidirectional``;
    an arch the registry does not know counts as one direction)."""
    from rnnbench import registry

    try:
        return registry.get(str(arch)).bidirectional
    except registry.ModelConfigError:
        return False


def dependency_steps(arch: str, length: int, signal_index: int | None) -> int | None:
    """Memory task: how many steps the signal must be carried to a state the head reads.

    One direction reads the last step, ``length - 1 - signal_index`` steps after the
    signal. A bidirectional model's backward direction ends at step 0, ``signal_index``
    steps after it reads the signal, so it needs only the nearer end's distance:
    ``min(signal_index, length - 1 - signal_index)``. Seed B's signal at index 5 is thus
    a 5-step dependency for a BiLSTM at every length: a short one, never evidence of a
    long memory. None when the signal's position is not recorded.
    """
    if signal_index is None or missing_value(signal_index):
        return None
    to_end = int(length) - 1 - int(signal_index)
    return min(int(signal_index), to_end) if is_bidirectional(arch) else to_end


def missing_value(value: object) -> bool:
    """None, NaN or pandas' NA (a runs.csv cell left empty)."""
    if value is None:
        return True
    try:
        return math.isnan(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return True


def reach_text(arch: str, steps: int | None) -> str:
    """How a bidirectional cell is marked wherever it is shown: "bidirectional: reads the
    signal within k steps" ("" for one direction)."""
    if not is_bidirectional(arch):
        return ""
    where = f"within {steps} steps" if steps is not None else "from either end"
    return f"bidirectional: reads the signal {where}"


def finite(values: Iterable[float | None]) -> np.ndarray:
    """The finite values as float64 (None, NaN and inf dropped)."""
    arr = np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    return arr[np.isfinite(arr)]


def mean_sd_ci(
    values: Iterable[float | None], confidence: float = 0.95
) -> tuple[float, float, float, float]:
    """``(mean, sd, ci_low, ci_high)`` of the finite ``values``.

    SD is the sample SD (ddof=1); the CI is ``mean ± t_{(1+c)/2, n-1} · sd/√n``, exactly
    ``scipy.stats.t.interval(c, n-1, loc=mean, scale=sd/√n)``. With one value, SD and CI
    are NaN (there is no spread to estimate from one seed); with none, all four are NaN.
    With n >= 2 identical values the CI is the point ``[mean, mean]`` (scipy would give
    NaN for a zero scale, but a zero-width interval is the honest answer).
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    arr = finite(values)
    n = arr.size
    if n == 0:
        return math.nan, math.nan, math.nan, math.nan
    mean = float(arr.mean())
    if n == 1:
        return mean, math.nan, math.nan, math.nan
    sd = float(arr.std(ddof=1))
    if sd == 0.0:
        return mean, 0.0, mean, mean
    lo, hi = stats.t.interval(confidence, n - 1, loc=mean, scale=sd / math.sqrt(n))
    return mean, sd, float(lo), float(hi)


def welch_p(
    a: Iterable[float | None],
    b: Iterable[float | None],
    alternative: str = "two-sided",
) -> float:
    """Welch's unequal-variance t-test p-value of ``a`` against ``b`` (finite values only).

    ``alternative`` is scipy's: "two-sided", "less" (H1: mean a < mean b) or "greater".
    Edge cases, where scipy returns NaN or a division by zero:

    - fewer than 2 values on either side: NaN (no variance estimate, no test);
    - zero variance on both sides: the difference is exact, so p = 1 when the means are
      equal and, when they differ, 0 if the difference lies in H1's direction (1 if it
      lies against it, for a one-sided test);
    - zero variance on one side only: Welch's statistic is still defined (the standard
      error comes from the other side) and scipy's value is returned.
    """
    if alternative not in ("two-sided", "less", "greater"):
        raise ValueError(f"alternative must be two-sided, less or greater, got {alternative!r}")
    x, y = finite(a), finite(b)
    if x.size < 2 or y.size < 2:
        return math.nan
    if x.var(ddof=1) == 0.0 and y.var(ddof=1) == 0.0:
        diff = float(x.mean() - y.mean())
        if diff == 0.0:
            return 1.0
        in_h1 = {"two-sided": True, "less": diff < 0, "greater": diff > 0}[alternative]
        return 0.0 if in_h1 else 1.0
    with warnings.catch_warnings():
        # scipy warns of "precision loss" for a constant side; the statistic is exact
        # there (that side contributes zero variance), so the warning is only noise.
        warnings.simplefilter("ignore", RuntimeWarning)
        result = stats.ttest_ind(x, y, equal_var=False, alternative=alternative)
    return float(result.pvalue)


def solved(values: Iterable[float | None], threshold: float = SOLVED_ACCURACY) -> tuple[int, int]:
    """``(k, n)``: how many of the ``n`` runs reach ``threshold`` (test accuracy); a run
    without a finite score (diverged) counts in n and does not solve."""
    arr = np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    return int(np.sum(np.isfinite(arr) & (arr >= threshold))), int(arr.size)


def solved_text(k: int, n: int, threshold: float = SOLVED_ACCURACY) -> str:
    """The solved fraction as the tables print it, e.g. "2/3 solved (acc >= 0.9)"."""
    return f"{k}/{n} solved (acc >= {threshold:g})"


def cell_solved_text(cell: Any) -> str:
    """A memory cell's solved fraction (:func:`solved_text`) from its runs (a DataFrame
    with ``task`` and ``test_accuracy``); "" for other tasks."""
    if cell.empty or "task" not in cell or "test_accuracy" not in cell:
        return ""
    if not reports_solved(cell["task"]):
        return ""
    return solved_text(*solved(_number_or_none(v) for v in cell["test_accuracy"].tolist()))


def _number_or_none(value: Any) -> float | None:
    """A runs.csv value as a number (None where it is none), as pd.to_numeric coerces."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class Mark(NamedTuple):
    """A cell's standing: ``mark`` is "best", "not significantly worse" or ""."""

    mark: str
    p_value: float  # Welch p vs the best cell; NaN for the best itself and untested cells


def mark_best(
    groups: Mapping[K, Sequence[float | None]],
    flagged: Iterable[K] = (),
    *,
    alpha: float = ALPHA,
    alternative: str = DEFAULT_ALTERNATIVE,
) -> dict[K, Mark]:
    """Mark the best cell and the cells not significantly worse than it.

    ``groups`` maps a cell key to its per-seed headline scores (higher is better).
    Only cells with at least MIN_SEEDS_TO_MARK (2) scored seeds can be marked: with one
    seed there is no variance and no test, so such a cell is neither "best" nor "not
    significantly worse" (mark "", p = NaN), whatever its mean; the table says so in its
    legend. The best is the unflagged cell with 2+ scored seeds and the highest mean;
    ties go to the first in ``groups``' order. Every other cell is tested with
    :func:`welch_p` (cell vs best; ``alternative="less"`` asks "is the cell worse?") and
    an unflagged cell with 2+ scored seeds is marked "not significantly worse" when
    ``p >= alpha`` or its mean equals the best's exactly. Flagged cells (degenerate,
    stuck, diverged, ...) are never best nor marked, but their p-value is still reported
    so a reader can see how close they came.
    """
    excluded = set(flagged)
    means = {key: finite(values) for key, values in groups.items()}
    candidates = [k for k, v in means.items() if k not in excluded and v.size >= MIN_SEEDS_TO_MARK]
    marks = {key: Mark("", math.nan) for key in groups}
    if not candidates:
        return marks
    best = max(candidates, key=lambda k: float(means[k].mean()))  # max keeps the first tie
    marks[best] = Mark(MARK_BEST, math.nan)
    for key, values in means.items():
        if key == best or values.size == 0:
            continue
        p = welch_p(values, means[best], alternative=alternative)
        markable = key not in excluded and values.size >= MIN_SEEDS_TO_MARK
        # An exact tie in the mean is "not worse" (a one-sided p of 0.5 says so too, but
        # with alpha above that it would not): the first-listed of two equal cells must
        # not look superior.
        equal = float(values.mean()) == float(means[best].mean())
        tied = markable and (equal or (math.isfinite(p) and p >= alpha))
        marks[key] = Mark(MARK_NOT_WORSE if tied else "", p)
    return marks
