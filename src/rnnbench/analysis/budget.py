"""The budget behind each answer: how a ranking depends on the training-set size.

Read from runs.csv's ``train_size`` column (grid.train_sizes; empty = the whole training
split, one size). For every sequence length and pair of architectures, the *leader* at
each training-set size is:

- memory task: the architecture that solves more seeds (:func:`stats.solved`), the
  summary's "ahead"; the test reported beside it is Fisher's exact test on the two
  cells' solved/unsolved counts (two-sided);
- other tasks: the higher mean test headline, when Welch's two-sided test gives
  p < stats.ALPHA; otherwise neither leads.

A *crossing* is a size at which one architecture leads after the other led at a smaller
size (sizes where neither leads are skipped): "lstm overtakes rnn at length 50 from
20,000 sequences; below that rnn is ahead (3/3 vs 0/3 solved at 4,000; Fisher p =
0.100)". Each statement carries both cells' seeds and its test. Bidirectional
architectures are left out on the memory task: they read the signal within a few steps
of an end (:func:`stats.dependency_steps`), so their ranking says nothing of memory.

The memory task's solved fraction per (architecture, length, size) and the smallest size
at which each architecture solves each length (a majority of its seeds, k >= n/2 + 1/2)
come from the same counts, so the table, the figure and the summary agree.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from rnnbench.analysis import stats
from rnnbench.experiment.tasks import reports_solved

TRAIN_SIZE = "train_size"
WHOLE_SPLIT = "whole split"


@dataclass(frozen=True)
class Cell:
    """One (arch, length, size) cell's seeds."""

    arch: str
    length: int
    size: int | None  # None: the whole training split
    values: tuple[float, ...]  # test headline per run (NaN kept: a diverged run)
    memory: bool

    @property
    def solved(self) -> tuple[int, int]:
        return stats.solved(self.values)

    def score(self) -> str:
        """ "k/n solved" (memory) or "mean over n seeds"."""
        if self.memory:
            k, n = self.solved
            return f"{k}/{n}"
        finite = stats.finite(self.values)
        mean = float(finite.mean()) if finite.size else math.nan
        return f"{mean:.3f} ({finite.size} seeds)"


def size_text(size: Any) -> str:
    """A training-set size as people write it (``4,000``): runs.csv reads the column as
    floats wherever a row has no size, so the value is made a whole number first."""
    size = _size(size)
    return WHOLE_SPLIT if size is None else f"{size:,}"


def _size(value: Any) -> int | None:
    return None if stats.missing_value(value) else int(value)


def cells(runs: pd.DataFrame, dataset: str) -> dict[tuple[str, int, int | None], Cell]:
    """The dataset's cells keyed by (arch, length, size); one optimizer's runs per cell
    is assumed (a grid with several optimizers pools them: the summary says so)."""
    sub = runs[runs["dataset"].astype(str) == dataset]
    memory = reports_solved(sub["task"])
    sizes = sub[TRAIN_SIZE] if TRAIN_SIZE in sub else pd.Series(None, index=sub.index)
    out = {}
    keyed = sub.assign(_size=sizes.map(_size).astype(object))
    for (arch, length, size), group in keyed.groupby(["arch", "length", "_size"], dropna=False):
        values = tuple(pd.to_numeric(group["test_headline"], errors="coerce").astype(float))
        key = (str(arch), int(length), _size(size))
        out[key] = Cell(key[0], key[1], key[2], values, memory)
    return out


def sizes_of(table: dict[tuple[str, int, int | None], Cell]) -> list[int | None]:
    """The sizes in ascending order, the whole split (None) last."""
    present = {key[2] for key in table}
    return sorted(present, key=lambda s: (s is None, s or 0))


def fisher_p(a: tuple[int, int], b: tuple[int, int]) -> float:
    """Two-sided Fisher exact test on solved/unsolved counts ``(k, n)`` of two cells."""
    from scipy.stats import fisher_exact

    (ka, na), (kb, nb) = a, b
    if na == 0 or nb == 0:
        return math.nan
    return float(fisher_exact([[ka, na - ka], [kb, nb - kb]]).pvalue)


def _test_text(a: Cell, b: Cell) -> str:
    if a.memory:
        p = fisher_p(a.solved, b.solved)
        name = "Fisher"
    else:
        p = stats.welch_p(a.values, b.values)
        name = "Welch"
    if not math.isfinite(p):
        return f"{name}: no test"
    return f"{name} p {'< 0.001' if p < 0.001 else f'= {p:.3f}'}"


def leader(a: Cell, b: Cell) -> str | None:
    """The architecture ahead in this pair of cells, None when neither is (see the doc)."""
    if a.memory:
        (ka, _), (kb, _) = a.solved, b.solved
        return a.arch if ka > kb else b.arch if kb > ka else None
    p = stats.welch_p(a.values, b.values)
    if not (math.isfinite(p) and p < stats.ALPHA):
        return None
    ma, mb = stats.finite(a.values).mean(), stats.finite(b.values).mean()
    return a.arch if ma > mb else b.arch if mb > ma else None


def _pair_text(first: Cell, second: Cell) -> str:
    """ "3/3 vs 0/3 solved at 4,000 sequences; Fisher p = 0.100" (first's arch first)."""
    unit = " solved" if first.memory else ""
    return (
        f"{first.arch} {first.score()} vs {second.arch} {second.score()}{unit} at "
        f"{size_text(first.size)} sequences; {_test_text(first, second)}"
    )


def crossing_statements(runs: pd.DataFrame, dataset: str) -> list[str]:
    """Where the ranking of two architectures turns around with the training-set size;
    ``["no crossing within this grid (...)"]`` when it never does."""
    table = cells(runs, dataset)
    sizes = sizes_of(table)
    archs = sorted({key[0] for key in table})
    memory = any(c.memory for c in table.values())
    if memory:
        archs = [a for a in archs if not stats.is_bidirectional(a)]
    lengths = sorted({key[1] for key in table})
    out = []
    for length, (a, b) in itertools.product(lengths, itertools.combinations(archs, 2)):
        pairs = [
            (table[(a, length, s)], table[(b, length, s)])
            for s in sizes
            if (a, length, s) in table and (b, length, s) in table
        ]
        previous: tuple[str, tuple[Cell, Cell]] | None = None
        for pair in pairs:
            ahead = leader(*pair)
            if ahead is None:
                continue
            if previous is not None and previous[0] != ahead:
                before = previous[1] if previous[1][0].arch == previous[0] else previous[1][::-1]
                now = pair if pair[0].arch == ahead else pair[::-1]
                out.append(
                    f"{ahead} overtakes {previous[0]} at length {length} from "
                    f"{size_text(now[0].size)} sequences ({_pair_text(*now)}); below that "
                    f"{previous[0]} is ahead ({_pair_text(*before)})"
                )
            previous = (ahead, pair)
    if out:
        return out
    what = "solves more seeds" if memory else "is significantly better (Welch p < 0.05)"
    shown = ", ".join(size_text(s) for s in sizes)
    return [
        f"no crossing within this grid: at no length does one architecture lead at a larger "
        f"training set after the other led at a smaller one (sizes {shown}; leading: {what})"
    ]


def smallest_solving(cell_list: list[Cell]) -> Cell | None:
    """The smallest-size cell where a majority of the seeds solve, or None."""
    for cell in sorted(cell_list, key=lambda c: (c.size is None, c.size or 0)):
        k, n = cell.solved
        if n and 2 * k > n:
            return cell
    return None


def solved_by_size(runs: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Memory task: one row per (arch, length), one column "k/n" per size (ascending, the
    whole split last), then the smallest size at which a majority of seeds solve it.
    Bidirectional rows say so in ``note`` (they read the signal within a few steps)."""
    table = cells(runs, dataset)
    sizes = sizes_of(table)
    index = runs["dataset"].astype(str) == dataset
    signal = runs.loc[index, "signal_index"] if "signal_index" in runs else None
    signal_at = None if signal is None or signal.dropna().empty else signal.dropna().iloc[0]
    rows = []
    for arch, length in sorted({(k[0], k[1]) for k in table}):
        row: dict[str, Any] = {"arch": arch, "length": length}
        for size in sizes:
            cell = table.get((arch, length, size))
            row[size_text(size)] = cell.score() if cell else ""
        best = smallest_solving([c for k, c in table.items() if k[:2] == (arch, length)])
        row["smallest size solving"] = "not solved" if best is None else size_text(best.size)
        steps = stats.dependency_steps(arch, length, signal_at)
        row["note"] = stats.reach_text(arch, steps)
        rows.append(row)
    return pd.DataFrame(rows)


def smallest_statement(frame: pd.DataFrame) -> str:
    """ "Smallest training set at which each architecture solves each length: ..."."""
    parts = []
    for row in frame.to_dict("records"):
        value = row["smallest size solving"]
        shown = value if value == "not solved" else f"{value} sequences"
        mark = f" [{row['note']}: not counted]" if row["note"] else ""
        parts.append(f"{row['arch']} at length {row['length']}: {shown}{mark}")
    return "; ".join(parts)


def write_solved_by_size(
    runs: pd.DataFrame, dataset: str, csv_path: str | Path, html_path: str | Path
) -> pd.DataFrame:
    """The memory task's solved fraction per (arch, length, size) as CSV and an HTML page."""
    from rnnbench.analysis.htmlpage import page, styled_table
    from rnnbench.io import atomic_path, write_text_atomic

    frame = solved_by_size(runs, dataset)
    with atomic_path(csv_path) as tmp:
        frame.to_csv(tmp, index=False)
    shown = frame.astype(str)
    intro = (
        f"<p>Seeds that solve each cell (k/n: test accuracy &ge; {stats.SOLVED_ACCURACY:g}) "
        "per training-set size, and the smallest size at which a majority of the seeds "
        "solve it. &#8644; bidirectional: reads the signal within a few steps of an end, a "
        "short dependency, not counted as solving a long one.</p>"
    )
    write_text_atomic(
        html_path,
        page(f"{dataset}: solved fraction by training-set size", styled_table(shown), intro=intro),
    )
    return frame
