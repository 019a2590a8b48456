"""The sanity gate: seed C's kind of run is flagged; healthy runs are not."""

from __future__ import annotations

import pandas as pd
import pytest

from rnnbench.analysis.sanity import (
    ACCURACY_MARGIN,
    DEGENERATE,
    DIVERGED,
    ENTITY_F1_FLOOR,
    SINGLE_CLASS,
    STUCK,
    flag_run,
    is_stuck,
    stuck_tolerance,
)
from test_analysis_helpers import LN2, diverged_before_any_epoch, make_metrics, seed_c_metrics


def test_healthy_run_has_no_flag() -> None:
    assert flag_run(make_metrics(), history=[0.6, 0.45, 0.3]) == []


def test_seed_c_run_is_stuck_degenerate_and_single_class() -> None:
    history = pd.DataFrame({"epoch": [1, 2, 3, 4, 5], "train_loss": [LN2] * 5})
    assert flag_run(seed_c_metrics(), history) == [SINGLE_CLASS, STUCK, DEGENERATE]
    # Without the single-class labels it is still stuck and degenerate.
    run = seed_c_metrics(train_label_counts={"neg": 990, "pos": 10})
    assert flag_run(run, history) == [STUCK, DEGENERATE]
    # Without a history the final loss alone shows it.
    assert flag_run(run) == [STUCK, DEGENERATE]


def test_diverged_before_any_epoch() -> None:
    assert flag_run(diverged_before_any_epoch()) == [DIVERGED]


def test_stuck_tolerance_boundary() -> None:
    tol = stuck_tolerance(LN2)
    assert tol == pytest.approx(0.02 * LN2)
    assert is_stuck(LN2, [LN2 + tol * 0.99])
    assert not is_stuck(LN2, [LN2 + tol * 1.01])
    assert stuck_tolerance(0.1) == 0.01  # the absolute floor for small losses
    assert not is_stuck(float("nan"), [LN2])
    assert not is_stuck(LN2, [])


def test_a_loss_that_moved_and_came_back_is_not_stuck() -> None:
    run = make_metrics(initial_loss=0.70, final_train_loss=0.70)
    assert STUCK in flag_run(run)  # final alone: looks stuck
    assert STUCK not in flag_run(run, history=[0.5, 0.3, 0.70])  # history: it moved


@pytest.mark.parametrize(
    ("accuracy", "majority", "degenerate"),
    [
        (0.85, 0.5, False),
        (0.5 + ACCURACY_MARGIN, 0.5, True),  # "not above by a clear margin"
        (0.53, 0.5, False),
        # Binary: the minority constant scores 0.517 on this test split, so 0.53 is no gain.
        (0.53, 0.483, True),
        (0.99, 0.99, True),  # seed C's "99%"
    ],
)
def test_degenerate_accuracy(accuracy: float, majority: float, degenerate: bool) -> None:
    run = make_metrics(accuracy=accuracy, majority_test=majority)
    assert (DEGENERATE in flag_run(run)) is degenerate


def test_degenerate_multiclass_uses_majority_only() -> None:
    counts = {"a": 10, "b": 10, "c": 10}
    run = make_metrics(accuracy=0.6, majority_test=0.4, train_label_counts=counts)
    assert flag_run(run) == []  # max(m, 1-m) would wrongly demand 0.62 here


@pytest.mark.parametrize(
    ("entity_f1", "token_accuracy", "degenerate"),
    [
        (0.6, 0.95, False),
        (ENTITY_F1_FLOOR, 0.95, True),
        (0.0, 0.85, True),  # the all-"O" tagger
        (0.3, 0.84, True),  # worse than tagging everything "O"
        (None, 0.85, True),  # no entity anywhere: undefined F1
    ],
)
def test_degenerate_ner(entity_f1: float | None, token_accuracy: float, degenerate: bool) -> None:
    run = make_metrics(task="ner", dataset="gmb", majority_test=0.85, majority_label="O")
    run["test"].update({"entity_f1": entity_f1, "token_accuracy": token_accuracy})
    assert (DEGENERATE in flag_run(run)) is degenerate


def test_flags_from_a_runs_csv_row_match_the_metrics() -> None:
    from rnnbench.analysis.collect import run_row

    for metrics in (make_metrics(), seed_c_metrics(), make_metrics(accuracy=0.51)):
        row = run_row(metrics, "x")
        assert flag_run(pd.Series(row)) == flag_run(metrics)


def test_memory_run_at_chance_is_unsolved_not_flagged() -> None:
    # On the memory task chance accuracy is the measurement (the signal is out of the
    # model's reach): the tables count it as unsolved; only real faults are flagged.
    at_chance = make_metrics(
        task="memory", dataset="memory", accuracy=0.5, initial_loss=LN2, final_train_loss=LN2
    )
    assert flag_run(at_chance, history=[LN2] * 5) == []
    same_on_sentiment = make_metrics(accuracy=0.5, initial_loss=LN2, final_train_loss=LN2)
    assert flag_run(same_on_sentiment, history=[LN2] * 5) == [STUCK, DEGENERATE]
    diverged = make_metrics(task="memory", dataset="memory", status="diverged", test=None)
    assert flag_run(diverged) == [DIVERGED]
