"""Every name a ``published`` entry uses must be one the config trains, checked when the
workflow is parsed: a misspelt dataset used to be shown as "not measured" and a misspelt
metric was caught only after training. Each problem names the entry, the key, the value,
what the config has there and, for a typo, the name it probably meant.

No torch, pandas or sklearn here (the Snakefile imports it); the metric names are the
keys of the training job's test scores (``rnnbench.metrics`` plus the loss), which
a test keeps in step.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from rnnbench.experiment.grid import BY_KEY, blocks
from rnnbench.experiment.tasks import TASKS

# The published-vs-measured verdict's defaults (rnnbench.analysis.published.verdict): the
# tolerance around a published value and the confidence of the measured mean's interval.
# Here, not there, so that `rnnbench published`'s options need no pandas.
TOLERANCE = 0.02
CONFIDENCE = 0.95

# The test_* metrics of runs.csv per task, i.e. the keys of metrics.json's "test" scores.
TASK_METRICS: dict[str, tuple[str, ...]] = {name: task.test_metrics for name, task in TASKS.items()}


def did_you_mean(value: Any, choices: Iterable[Any]) -> str:
    """``; did you mean 'imdb'?`` for a close match among ``choices``, else ``""``."""
    if not isinstance(value, str):
        return ""  # a length is not misspelt
    names = [str(c) for c in choices]
    close = difflib.get_close_matches(str(value), names, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _problem(where: str, key: str, value: Any, allowed: list[Any], what: str) -> str:
    return (
        f"{where}.{key}: {value!r} is not {what}{did_you_mean(value, allowed)} "
        f"(the config has {allowed})"
    )


def problems_of_cell(datasets: dict[str, Any], where: str, entry: dict[str, Any]) -> list[str]:
    """The names of the cell an entry points at (dataset, arch, optimizer, length) that the
    config lacks."""
    name = entry.get("dataset")
    if name not in datasets:
        return [_problem(where, "dataset", name, list(datasets), "a configured dataset")]
    ds = datasets[name]
    problems = []
    for key in ("arch", "optimizer", "length"):
        dimension = BY_KEY[key]
        allowed = list(
            dict.fromkeys(v for block in blocks(ds) for v in dimension.values(ds, block))
        )
        if entry.get(key) not in allowed:
            what = f"in the grid of datasets.{name}"
            problems.append(_problem(where, key, entry.get(key), allowed, what))
    return problems


def published_name_problems(config: dict[str, Any]) -> list[str]:
    """One message per name of a ``published`` entry that the config does not have: a
    dataset not under ``datasets``; an arch, optimizer or length not in that dataset's
    grid; a metric (or extra metric) its task does not measure. ``config`` is validated
    (the schema's defaults filled in)."""
    datasets = config.get("datasets") or {}
    problems = []
    for i, entry in enumerate(config.get("published") or []):
        where = f"published.{i} ({entry.get('source', '?')})"
        cell = problems_of_cell(datasets, where, entry)
        control = entry.get("control")
        if control:  # the same arch and length in another dataset entry
            shown = {**entry, "optimizer": entry.get("optimizer"), **control}
            cell += problems_of_cell(datasets, f"{where}.control", shown)
        problems += cell
        name = entry.get("dataset")
        if name not in datasets:
            continue
        ds = datasets[name]
        metrics = list(TASK_METRICS.get(ds.get("task"), ()))
        names = [("metric", entry.get("metric"))]
        names += [(f"extra_metrics.{j}", m) for j, m in enumerate(entry.get("extra_metrics") or [])]
        for key, metric in names:
            if metric not in metrics:
                what = f"a test metric of task {ds.get('task')!r}"
                problems.append(_problem(where, key, metric, metrics, what))
    return problems
