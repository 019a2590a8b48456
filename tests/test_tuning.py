"""Learning-rate tuning (grid.tune): config, trial specs, the selection rule, the final
cells' lr, and what runs.csv and the comparison table say (no training here)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from conftest import SCHEMA_PATH, base_config, validated
from rnnbench.analysis.collect import read_runs_csv, write_runs_csv
from rnnbench.analysis.compare import TUNED_LR, comparison_table
from rnnbench.config import validate_config, validate_grids
from rnnbench.errors import ConfigError
from rnnbench.experiment.grid import cell_spec
from rnnbench.experiment.spec import SpecError
from rnnbench.experiment.tuning import (
    TUNED_LR as TUNED_MARK,
)
from rnnbench.experiment.tuning import (
    TuningError,
    apply_selected_lr,
    final_spec,
    lr_label,
    select_lr,
    trial_metrics_paths,
    trial_spec,
    tuned_cells,
    write_selection,
)
from rnnbench.train.job import _tuned_lr

LRS = [3.0e-4, 1.0e-3, 3.0e-3, 1.0e-2]


def memory_ds(**tune: Any) -> dict[str, Any]:
    ds = copy.deepcopy(base_config()["datasets"]["memory"])
    ds["grid"].update(
        {
            "archs": ["rnn", "lstm"],
            "optimizers": ["adam", "sgd"],
            "lengths": [20],
            "seeds": [0, 1],
            "hparams": {"epochs": 2, "hidden": 8, "lr": 0.005},
            "tune": {"lrs": LRS, **tune},
        }
    )
    return validated(ds, "memory")


def config_with(**tune: Any) -> dict[str, Any]:
    cfg = base_config()
    cfg["datasets_to_run"] = ["memory"]
    cfg["datasets"]["memory"]["grid"].update({"archs": ["rnn", "lstm"], "tune": tune})
    return cfg


def parse_error(cfg: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        validate_config(cfg, SCHEMA_PATH)
        validate_grids(cfg)
    return str(info.value)


# --- config ----------------------------------------------------------------------------------


def test_tuning_is_off_by_default() -> None:
    ds = validated(base_config()["datasets"]["memory"], "memory")
    assert ds["grid"].get("tune") is None
    assert tuned_cells("memory", ds) == []


def test_tune_defaults_are_filled_and_every_cell_is_tuned() -> None:
    ds = memory_ds()
    assert ds["grid"]["tune"] == {
        "lrs": LRS,
        "seed": 1000,
        "archs": None,
        "optimizers": None,
        "hparams": {},
    }
    assert len(tuned_cells("memory", ds)) == 2 * 2 * 1
    cfg = config_with(lrs=LRS)
    validate_config(cfg, SCHEMA_PATH)
    validate_grids(cfg)


def test_tune_can_be_limited_to_some_archs_and_optimizers() -> None:
    ds = memory_ds(archs=["lstm"], optimizers=["sgd"])
    assert tuned_cells("memory", ds) == [
        {"dataset": "memory", "arch": "lstm", "optimizer": "sgd", "length": 20}
    ]
    cell = {"dataset": "memory", "arch": "rnn", "optimizer": "sgd", "length": 20, "seed": 0}
    assert final_spec(ds, cell_spec(ds, cell))["hparams"]["lr"] == 0.005  # not tuned


@pytest.mark.parametrize(
    ("tune", "expected"),
    [
        ({"lrs": [1.0e-3, -1.0e-3]}, "datasets.memory.grid.tune.lrs.1"),
        ({"lrs": []}, "datasets.memory.grid.tune.lrs"),
        ({"lrs": ["1e-3"]}, "write 1.0e-3"),
        ({"lr": [1.0e-3]}, "datasets.memory.grid.tune"),
        ({"lrs": [1.0e-3], "seed": -1}, "datasets.memory.grid.tune.seed"),
        ({"lrs": [1.0e-3], "archs": ["gru"]}, "datasets.memory.grid.tune.archs"),
        ({"lrs": [1.0e-3], "optimizers": ["sgd"]}, "datasets.memory.grid.tune.optimizers"),
        ({"lrs": [1.0e-3], "hparams": {"lr": 0.1}}, "datasets.memory.grid.tune.hparams.lr"),
        ({"lrs": [1.0e-3], "hparams": {"epochs": 0}}, "datasets.memory.grid.tune.hparams.epochs"),
        ({"lrs": [1.0e-3], "hparams": {"epoch": 1}}, "datasets.memory.grid.tune (arch rnn"),
    ],
)
def test_a_bad_tune_value_names_the_key(tune: dict[str, Any], expected: str) -> None:
    assert expected in parse_error(config_with(**tune))


# --- trials ------------------------------------------------------------------------------------


def test_a_trial_spec_depends_on_its_own_lr_only() -> None:
    ds = memory_ds(hparams={"epochs": 1})
    cell = {"dataset": "memory", "arch": "rnn", "optimizer": "adam", "length": 20}
    spec = trial_spec(ds, cell, 1.0e-3)
    assert spec["seed"] == 1000
    assert spec["hparams"] == {"epochs": 1, "hidden": 8, "lr": 1.0e-3}
    more = copy.deepcopy(ds)
    more["grid"]["tune"]["lrs"] = [*LRS, 3.0e-2]
    assert trial_spec(more, cell, 1.0e-3) == spec
    assert trial_metrics_paths(ds, cell)[0] == (
        "results/tune/memory/rnn/adam/len20/lr0.0003/metrics.json"
    )


@pytest.mark.parametrize("lr", [3.0e-4, 1.0e-5, 0.1, 1.0, 3.1622776601683795e-4])
def test_lr_labels_read_back_as_the_same_float(lr: float) -> None:
    assert float(lr_label(lr)) == lr


# --- selection ---------------------------------------------------------------------------------


def trial(
    tmp_path: Path, lr: float, validation: float | None, test: float, status: str = "ok"
) -> Path:
    metrics = {
        "status": status,
        "spec": {"dataset": "m", "arch": "rnn", "optimizer": "adam", "length": 20, "seed": 1000},
        "task": "memory",
        "headline_metric": "accuracy",
        "hparams": {"lr": lr, "epochs": 2},
        "best_epoch": 2,
        "validation": None if validation is None else {"accuracy": validation, "loss": 0.5},
        "test": {"accuracy": test, "loss": 0.5},
    }
    path = tmp_path / f"lr{lr_label(lr)}" / "metrics.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(metrics))
    return path


def test_selection_uses_validation_never_test(tmp_path: Path) -> None:
    # The test scores rank the lrs the other way round: only validation may decide.
    paths = [
        trial(tmp_path, 1.0e-2, 0.6, test=0.99),
        trial(tmp_path, 1.0e-3, 0.9, test=0.50),
        trial(tmp_path, 3.0e-3, 0.7, test=0.80),
    ]
    record = select_lr(paths)
    assert record["selected_lr"] == 1.0e-3
    assert record["metric"] == "validation accuracy"
    assert [t["lr"] for t in record["trials"]] == [1.0e-3, 3.0e-3, 1.0e-2]  # by lr
    assert [t["validation"] for t in record["trials"]] == [0.9, 0.7, 0.6]
    assert [t["selected"] for t in record["trials"]] == [True, False, False]
    assert record["at_edge"] is True
    assert not any("test" in key for t in record["trials"] for key in t)


def test_ties_go_to_the_smallest_lr_and_diverged_trials_are_never_selected(
    tmp_path: Path,
) -> None:
    paths = [
        trial(tmp_path, 1.0e-2, 1.0, test=1.0),
        trial(tmp_path, 3.0e-3, 1.0, test=1.0),
        trial(tmp_path, 1.0e-1, 1.0, test=1.0, status="diverged"),
        trial(tmp_path, 1.0e-3, 0.9, test=1.0),
    ]
    record = select_lr(paths)
    assert record["selected_lr"] == 3.0e-3
    assert record["at_edge"] is False
    assert [t["validation"] for t in record["trials"]][-1] is None


def test_a_selection_without_any_scored_trial_fails(tmp_path: Path) -> None:
    paths = [trial(tmp_path, 1.0, None, test=0.5, status="diverged")]
    with pytest.raises(TuningError, match="smaller candidates"):
        select_lr(paths)


# --- final cells -------------------------------------------------------------------------------


def test_final_cells_read_the_selected_lr(tmp_path: Path) -> None:
    ds = memory_ds()
    cell = {"dataset": "m", "arch": "rnn", "optimizer": "adam", "length": 20, "seed": 0}
    spec = final_spec(ds, cell_spec(ds, cell))
    assert spec["hparams"]["lr"] == {TUNED_MARK: "results/tune/m/rnn/adam/len20/selected.json"}
    with pytest.raises(SpecError, match="--lr-from"):
        _tuned_lr({**spec, "hparams": {"lr": {}}}, None)

    selected = tmp_path / "selected.json"
    write_selection(
        [trial(tmp_path, 1.0e-3, 0.6, 0.5), trial(tmp_path, 3.0e-3, 0.8, 0.5)], selected
    )
    named = {**spec, "hparams": {**spec["hparams"], "lr": {TUNED_MARK: str(selected)}}}
    assert _tuned_lr(named, None)[0]["hparams"]["lr"] == 3.0e-3
    tuned, extra = _tuned_lr(spec, str(selected))  # --lr-from wins
    assert tuned["hparams"]["lr"] == 3.0e-3
    assert extra["lr_tuning"]["selected_lr"] == 3.0e-3
    assert extra["lr_tuning"]["candidates"] == [1.0e-3, 3.0e-3]

    with pytest.raises(SpecError, match="length"):
        apply_selected_lr({**spec, "length": 50}, selected)


def run_metrics(arch: str, seed: int, lr: float, tuned: bool, score: float) -> dict[str, Any]:
    metrics: dict[str, Any] = {
        "status": "ok",
        "spec": {"dataset": "m", "arch": arch, "optimizer": "adam", "length": 20, "seed": seed},
        "task": "memory",
        "headline_metric": "accuracy",
        "hparams": {"lr": lr, "epochs": 2},
        "validation": {"accuracy": score},
        "test": {"accuracy": score},
        "params": 10,
        "epochs_run": 2,
        "best_epoch": 2,
        "initial_loss": 0.69,
        "final_train_loss": 0.1,
    }
    if tuned:
        metrics["lr_tuning"] = {"selected_lr": lr}
    return metrics


def test_runs_csv_and_the_comparison_table_say_the_lr_was_tuned(tmp_path: Path) -> None:
    paths = []
    for arch, lr, tuned in (("rnn", 3.0e-3, True), ("lstm", 1.0e-3, False)):
        for seed in (0, 1):
            path = tmp_path / arch / f"seed{seed}" / "metrics.json"
            path.parent.mkdir(parents=True)
            path.write_text(json.dumps(run_metrics(arch, seed, lr, tuned, 0.8 + 0.05 * seed)))
            paths.append(path)
    write_runs_csv(paths, tmp_path / "runs.csv")
    runs = read_runs_csv(tmp_path / "runs.csv")
    by_arch = runs.groupby("arch")
    assert by_arch["lr_tuned"].unique().to_dict() == {"lstm": [False], "rnn": [True]}
    assert by_arch["hp_lr"].first().to_dict() == {"lstm": 1.0e-3, "rnn": 3.0e-3}

    table = comparison_table(runs, "m")
    row = table.set_index("arch")
    assert row.loc["rnn", TUNED_LR] == 3.0e-3
    assert pd.isna(row.loc["lstm", TUNED_LR])
    assert list(row["n_seeds"]) == [2, 2]  # the column does not split a cell's seeds

    untuned = runs[runs["arch"] == "lstm"]
    assert TUNED_LR not in comparison_table(untuned, "m").columns
