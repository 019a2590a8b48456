"""The sanity gate: every run is checked, and a run that fails a check is flagged.

A flagged run stays in every table (hiding it would hide the problem), but it is never
ranked best. The checks exist because of seed C: a loss stuck at ln 2 = 0.6931 for five
epochs while accuracy read "99%", on a label set that held a single class. Such a run
must come out flagged ``stuck`` and ``degenerate`` (and ``single_class``).

Flags, in the order they are reported:

``diverged``
    metrics.json says ``status: diverged`` (a non-finite loss stopped training).
``single_class``
    the training labels hold one class (seed C's ``label == 'pos'`` bug): nothing can be
    learned from them, whatever the accuracy says.
``stuck``
    the training loss never moved meaningfully from its initial value: every recorded
    epoch's ``train_loss`` (history.csv; ``final_train_loss`` without a history) lies
    within ``max(STUCK_ABS_TOL, STUCK_REL_TOL * |initial_loss|)`` of ``initial_loss``
    (the loss of the untrained model on the training set). For ln 2 that band is ±0.0139.
``degenerate``
    the test score is not clearly above what a constant prediction achieves:

    - sentiment / memory: ``test accuracy <= floor + ACCURACY_MARGIN`` where ``floor``
      is the majority-class accuracy on the same test rows (``majority_baseline.test``);
      for a binary task (at most two training classes) it is ``max(m, 1 - m)``, the
      better of the two constant predictors, because a test split whose balance differs
      from train's lets the *minority* constant beat the majority one;
    - NER (headline entity F1, conlleval convention; the all-"O" tagger's entity F1 is
      0; the strict IOB2 ``strict_entity_f1`` is not gated): entity F1 missing
      or ``<= ENTITY_F1_FLOOR``, or token accuracy not above the majority tag's token
      accuracy at all (worse than tagging everything "O");
    - any task: a run that finished (status ok) with no test headline value.

    A run that diverged before any epoch has no test score and is only ``diverged``.
``leakage``
    the dataset's data card marks its test split as leaking: more than
    ``checks.max_test_leakage`` (default 2%) of its test examples have exactly the text of
    a training example, so every test score of the dataset is inflated, however good.

The memory task is the exception to ``stuck`` and ``degenerate``: there, a model that
stays at chance is the measurement itself (the signal lies beyond what it can carry), not
a broken run, and the tables report it as a cell that seeds do not *solve* (the solved
fraction). Flagging it would mark the very finding as suspect. A diverged run or a
single-class training set is still flagged there.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rnnbench.experiment.tasks import TASKS, Task

STUCK_ABS_TOL = 0.01
STUCK_REL_TOL = 0.02
ACCURACY_MARGIN = 0.02
ENTITY_F1_FLOOR = 0.05

DIVERGED, SINGLE_CLASS, STUCK, DEGENERATE = "diverged", "single_class", "stuck", "degenerate"
LEAKAGE = "leakage"
FLAGS: tuple[str, ...] = (DIVERGED, SINGLE_CLASS, STUCK, DEGENERATE, LEAKAGE)
FLAG_HELP: dict[str, str] = {
    DIVERGED: "training hit a non-finite loss and stopped",
    SINGLE_CLASS: "the training labels hold a single class",
    STUCK: "the training loss never moved more than "
    f"max({STUCK_ABS_TOL}, {STUCK_REL_TOL:.0%} of it) from its initial value",
    DEGENERATE: "the test score is not clearly above a constant prediction "
    f"(accuracy <= the best constant class's accuracy + {ACCURACY_MARGIN}; "
    f"NER: entity F1 <= {ENTITY_F1_FLOOR} or token accuracy <= the majority tag's)",
    LEAKAGE: "the data card finds more of the test examples in train than "
    "checks.max_test_leakage allows (default 2%): the test score is inflated",
}


@dataclass(frozen=True)
class RunFacts:
    """What the checks need from a run, from a metrics.json dict or a runs.csv row."""

    status: str
    task: str
    test_headline: float
    majority_test: float
    initial_loss: float
    final_train_loss: float
    train_classes: int | None
    test_token_accuracy: float
    test_entity_f1: float


def _num(value: Any) -> float:
    if value is None:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def run_facts(run: Mapping[str, Any] | pd.Series) -> RunFacts:
    """Read the facts from a metrics.json dict (has ``spec``) or a flat runs.csv row."""
    data = run.to_dict() if isinstance(run, pd.Series) else dict(run)
    if "spec" in data:  # metrics.json
        test = data.get("test") or {}
        headline = data.get("headline_metric")
        counts = data.get("train_label_counts")
        majority = data.get("majority_baseline") or {}
        return RunFacts(
            status=str(data.get("status", "")),
            task=str(data.get("task", "")),
            test_headline=_num(test.get(headline)) if headline else math.nan,
            majority_test=_num(majority.get("test")),
            initial_loss=_num(data.get("initial_loss")),
            final_train_loss=_num(data.get("final_train_loss")),
            train_classes=len(counts) if isinstance(counts, dict) else None,
            test_token_accuracy=_num(test.get("token_accuracy")),
            test_entity_f1=_num(test.get("entity_f1")),
        )
    classes = _num(data.get("train_classes"))
    return RunFacts(
        status=str(data.get("status", "")),
        task=str(data.get("task", "")),
        test_headline=_num(data.get("test_headline")),
        majority_test=_num(data.get("majority_test")),
        initial_loss=_num(data.get("initial_loss")),
        final_train_loss=_num(data.get("final_train_loss")),
        train_classes=int(classes) if math.isfinite(classes) else None,
        test_token_accuracy=_num(data.get("test_token_accuracy")),
        test_entity_f1=_num(data.get("test_entity_f1")),
    )


def stuck_tolerance(initial_loss: float) -> float:
    return max(STUCK_ABS_TOL, STUCK_REL_TOL * abs(initial_loss))


def is_stuck(initial_loss: float, train_losses: Sequence[float]) -> bool:
    """Every finite training loss within :func:`stuck_tolerance` of the initial loss.

    Unknown (no initial loss, no epoch recorded) is not stuck: the flag claims a fact.
    """
    losses = np.asarray([_num(v) for v in train_losses], dtype=np.float64)
    losses = losses[np.isfinite(losses)]
    if not math.isfinite(initial_loss) or losses.size == 0:
        return False
    return bool(np.max(np.abs(losses - initial_loss)) < stuck_tolerance(initial_loss))


def _task(facts: RunFacts) -> Task:
    """The run's task; an unknown one (a foreign metrics.json) as a text classifier's."""
    return TASKS.get(facts.task, TASKS["sentiment"])


def constant_floor(facts: RunFacts) -> float:
    """Best accuracy a constant prediction is known to reach on the run's test rows."""
    m = facts.majority_test
    if not math.isfinite(m):
        return math.nan
    binary = _task(facts).generated or (
        facts.train_classes is not None and facts.train_classes <= 2
    )
    return max(m, 1.0 - m) if binary else m


def is_degenerate(facts: RunFacts) -> bool:
    score = facts.test_headline
    if not math.isfinite(score):
        # No test score: a diverged run is already flagged as such; a finished run with
        # nothing to show (e.g. entity F1 undefined, no entity anywhere) is degenerate.
        return facts.status != DIVERGED
    if _task(facts).tags_tokens:
        if score <= ENTITY_F1_FLOOR:
            return True
        acc, majority = facts.test_token_accuracy, facts.majority_test
        return math.isfinite(acc) and math.isfinite(majority) and acc <= majority
    floor = constant_floor(facts)
    return math.isfinite(floor) and score <= floor + ACCURACY_MARGIN


def _history_losses(history: pd.DataFrame | Sequence[float] | None) -> list[float] | None:
    if history is None:
        return None
    if isinstance(history, pd.DataFrame):
        if "train_loss" not in history.columns:
            return None
        return [_num(v) for v in history["train_loss"].tolist()]
    return [_num(v) for v in history]


def leaks(card: Mapping[str, Any] | None) -> bool:
    """Whether a data card marks its dataset's test split as leaking."""
    return bool(((card or {}).get("leakage") or {}).get("flagged"))


def flag_run(
    run: Mapping[str, Any] | pd.Series,
    history: pd.DataFrame | Sequence[float] | None = None,
    card: Mapping[str, Any] | None = None,
) -> list[str]:
    """The run's flags, in :data:`FLAGS` order (empty when it passes every check).

    ``run`` is a metrics.json dict or a runs.csv row; ``history`` is the run's
    history.csv (a DataFrame with ``train_loss``) or the per-epoch training losses;
    ``card`` its dataset's data card (for ``leakage``).
    """
    facts = run_facts(run)
    flags = []
    if facts.status == DIVERGED:
        flags.append(DIVERGED)
    if facts.train_classes == 1:
        flags.append(SINGLE_CLASS)
    losses = _history_losses(history)
    if not losses or not any(math.isfinite(v) for v in losses):
        losses = [facts.final_train_loss]
    if not _task(facts).generated:  # at chance = not solved, reported as such (module docstring)
        if is_stuck(facts.initial_loss, losses):
            flags.append(STUCK)
        if is_degenerate(facts):
            flags.append(DEGENERATE)
    if leaks(card):
        flags.append(LEAKAGE)
    return flags


def join_flags(flags: Sequence[str]) -> str:
    return ";".join(flags)


def split_flags(text: Any) -> list[str]:
    """Flags from a runs.csv cell (";"-joined; empty or NaN -> none)."""
    if not isinstance(text, str) or not text.strip():
        return []
    return [flag for flag in text.split(";") if flag]


def union_flags(cells: Sequence[Any]) -> tuple[str, int]:
    """(";"-joined union of the runs' flags in FLAGS order, number of flagged runs)."""
    seen = [split_flags(cell) for cell in cells]
    names = {flag for flags in seen for flag in flags}
    ordered = [f for f in FLAGS if f in names] + sorted(names - set(FLAGS))
    return ";".join(ordered), sum(1 for flags in seen if flags)
