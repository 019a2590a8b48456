"""Statistics against scipy on known data: t intervals, Welch p-values, best marking."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from rnnbench.analysis.stats import (
    MARK_BEST,
    MARK_NOT_WORSE,
    SOLVED_ACCURACY,
    mark_best,
    mean_sd_ci,
    solved,
    solved_text,
    welch_p,
)

A = [0.85, 0.86, 0.87, 0.84, 0.88]
B = [0.84, 0.855, 0.86, 0.85, 0.845]
C = [0.70, 0.71, 0.72, 0.69, 0.73]


@pytest.mark.parametrize("confidence", [0.95, 0.90, 0.99])
def test_ci_equals_scipy_t_interval(confidence: float) -> None:
    mean, sd, lo, hi = mean_sd_ci(A, confidence)
    arr = np.array(A)
    expected = sps.t.interval(
        confidence, len(A) - 1, loc=arr.mean(), scale=arr.std(ddof=1) / math.sqrt(len(A))
    )
    assert mean == pytest.approx(0.86)
    assert sd == pytest.approx(arr.std(ddof=1))
    assert (lo, hi) == pytest.approx(expected, rel=1e-12)


def test_ci_known_value_three_seeds() -> None:
    # mean 2, sd 1, n 3: half-width t_{0.975,2} / sqrt(3) = 4.302653 / 1.732051 = 2.484138
    _, sd, lo, hi = mean_sd_ci([1.0, 2.0, 3.0])
    assert sd == pytest.approx(1.0)
    assert (lo, hi) == pytest.approx((2 - 2.4841377, 2 + 2.4841377), abs=1e-6)


def test_ci_edge_cases() -> None:
    mean, sd, lo, hi = mean_sd_ci([0.7])
    assert mean == 0.7 and all(math.isnan(v) for v in (sd, lo, hi))
    assert all(math.isnan(v) for v in mean_sd_ci([]))
    assert mean_sd_ci([0.5, 0.5, 0.5]) == (0.5, 0.0, 0.5, 0.5)
    # A diverged seed (None / NaN) is dropped, not counted.
    assert mean_sd_ci([1.0, None, float("nan"), 3.0])[:2] == pytest.approx((2.0, math.sqrt(2)))


@pytest.mark.parametrize("alternative", ["two-sided", "less", "greater"])
def test_welch_equals_scipy(alternative: str) -> None:
    expected = sps.ttest_ind(B, A, equal_var=False, alternative=alternative).pvalue
    assert welch_p(B, A, alternative) == pytest.approx(expected, rel=1e-12)


@pytest.mark.filterwarnings("ignore:Precision loss:RuntimeWarning")  # scipy, constant side
def test_welch_edge_cases() -> None:
    assert math.isnan(welch_p([0.8], A))
    assert welch_p([0.5, 0.5], [0.5, 0.5]) == 1.0
    assert welch_p([0.4, 0.4], [0.5, 0.5]) == 0.0
    assert welch_p([0.4, 0.4], [0.5, 0.5], "less") == 0.0
    assert welch_p([0.6, 0.6], [0.5, 0.5], "less") == 1.0
    # One side constant: Welch is still defined (the other side gives the variance).
    expected = sps.ttest_ind([0.5, 0.5, 0.5], A, equal_var=False).pvalue
    assert welch_p([0.5, 0.5, 0.5], A) == pytest.approx(expected)


def test_mark_best_known_values() -> None:
    marks = mark_best({"a": A, "b": B, "c": C})
    assert marks["a"].mark == MARK_BEST and math.isnan(marks["a"].p_value)
    p_b = sps.ttest_ind(B, A, equal_var=False, alternative="less").pvalue
    p_c = sps.ttest_ind(C, A, equal_var=False, alternative="less").pvalue
    assert p_b >= 0.05 > p_c  # the data were chosen so: B ties with A, C is worse
    assert marks["b"] == (MARK_NOT_WORSE, pytest.approx(p_b))
    assert marks["c"] == ("", pytest.approx(p_c))


def test_mark_best_two_sided_marks_more() -> None:
    two = sps.ttest_ind([0.84, 0.85, 0.86], A, equal_var=False).pvalue
    one = sps.ttest_ind([0.84, 0.85, 0.86], A, equal_var=False, alternative="less").pvalue
    assert one == pytest.approx(two / 2)
    groups = {"a": A, "x": [0.80, 0.81, 0.82, 0.80, 0.815]}
    p_two = sps.ttest_ind(groups["x"], A, equal_var=False).pvalue
    p_one = p_two / 2
    assert mark_best(groups, alternative="two-sided")["x"].p_value == pytest.approx(p_two)
    assert mark_best(groups)["x"].p_value == pytest.approx(p_one)


def test_flagged_cells_are_never_best() -> None:
    seed_c = [0.99, 0.99, 0.99]
    marks = mark_best({"c": seed_c, "a": A, "b": B}, flagged=["c"])
    assert marks["a"].mark == MARK_BEST
    assert marks["c"].mark == ""
    assert mark_best({"c": seed_c}, flagged=["c"])["c"].mark == ""


def test_single_seed_cells_get_no_mark() -> None:
    # One seed: no variance, no test, so no mark either way, even for the highest mean.
    marks = mark_best({"a": [0.95], "b": A, "c": [0.9], "d": [0.7]})
    assert marks["a"] == ("", pytest.approx(math.nan, nan_ok=True))
    assert marks["b"].mark == MARK_BEST  # the best of the cells with 2+ seeds
    assert marks["c"].mark == "" and marks["d"].mark == ""
    assert all(math.isnan(marks[k].p_value) for k in "acd")
    # Only one-seed cells: nothing is marked, equal means included.
    only = mark_best({"a": [0.9], "b": [0.8], "c": [0.9]})
    assert {m.mark for m in only.values()} == {""}
    # A diverged seed leaves one scored seed: unmarked too.
    assert mark_best({"a": [0.9, float("nan")], "b": B})["a"].mark == ""


def test_exact_ties_are_not_worse() -> None:
    marks = mark_best({"a": [0.9, 0.9], "c": [0.9, 0.9]})
    assert marks["a"].mark == MARK_BEST
    assert marks["c"].mark == MARK_NOT_WORSE  # equal means: not worse
    tied = mark_best({"a": [0.5, 1.0], "c": [0.625, 0.875]}, alpha=0.6)  # exact means
    assert tied["c"].mark == MARK_NOT_WORSE  # p = 0.5 < alpha, but the means are equal


def test_solved_fraction() -> None:
    assert SOLVED_ACCURACY == 0.9
    assert solved([0.95, 0.9, 0.5]) == (2, 3)  # the threshold counts as solved
    assert solved([0.99, math.nan, None]) == (1, 3)  # a diverged run does not solve
    assert solved([]) == (0, 0)
    assert solved_text(2, 3) == "2/3 solved (acc >= 0.9)"
    assert solved_text(*solved([0.8], threshold=0.75), threshold=0.75) == (
        "1/1 solved (acc >= 0.75)"
    )
