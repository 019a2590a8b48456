"""The experiment core: cells, paths and specs defined once, and stable.

A cell without an optional dimension (``fold``) keeps the paths and the spec JSON it had
before the dimension existed, so adding a dimension retrains nothing.
"""

from __future__ import annotations

import json

import pytest

from conftest import SCHEMA_PATH
from rnnbench.config import memory_grid_config, validate_config
from rnnbench.experiment import grid, paths, tasks, tuning


def _ds(**grid_keys) -> dict:
    config = memory_grid_config(
        {"archs": ["rnn", "lstm"], "optimizers": ["adam"], "lengths": [8, 16], "seeds": [0, 1]}
        | grid_keys,
        {"train": 8, "validation": 4, "test": 4},
        {"hidden": 4},
    )
    validate_config(config, SCHEMA_PATH)
    return config["datasets"]["mem"]


def test_cells_come_in_config_order_without_absent_dimensions() -> None:
    cells = grid.grid_cells("mem", _ds())
    assert len(cells) == 8
    assert cells[0] == {
        "dataset": "mem",
        "arch": "rnn",
        "optimizer": "adam",
        "length": 8,
        "seed": 0,
    }
    assert list(cells[0]) == ["dataset", "arch", "optimizer", "length", "seed"]
    assert [c["seed"] for c in cells[:2]] == [0, 1]


def test_paths_and_spec_json_of_a_cell_are_what_they_were() -> None:
    cell = grid.grid_cells("mem", _ds())[0]
    assert paths.run_dir(cell) == "results/runs/mem/rnn/adam/len8/seed0"
    assert paths.train_log(cell) == "logs/train/mem/rnn/adam/len8/seed0.log"
    spec = json.dumps(grid.cell_spec(_ds(), cell), sort_keys=True)
    assert spec == (
        '{"arch": "rnn", "dataset": "mem", "hparams": {"hidden": 4}, "length": 8, '
        '"optimizer": "adam", "seed": 0}'
    )


def test_a_fold_goes_before_the_seed_in_cell_path_and_log() -> None:
    cell = {"dataset": "d", "arch": "rnn", "optimizer": "adam", "length": 8, "fold": 2, "seed": 1}
    assert paths.run_dir(cell) == "results/runs/d/rnn/adam/len8/fold2/seed1"
    assert paths.train_log(cell) == "logs/train/d/rnn/adam/len8/fold2/seed1.log"
    assert paths.layout(cell) == ("arch", "optimizer", "length", "fold", "seed")


def test_every_layout_has_a_metrics_glob() -> None:
    assert paths.run_metrics_globs() == [
        "results/runs/*/*/*/len*/fold*/seed*/metrics.json",
        "results/runs/*/*/*/len*/n*/fold*/seed*/metrics.json",
        "results/runs/*/*/*/len*/n*/seed*/metrics.json",
        "results/runs/*/*/*/len*/seed*/metrics.json",
    ]
    assert len(grid.layouts()) == 2 ** len(grid.OPTIONAL_KEYS)


def test_wildcards_become_a_typed_cell() -> None:
    wildcards = {"dataset": "d", "arch": "rnn", "optimizer": "adam", "length": "8", "seed": "3"}
    assert grid.cell_from_wildcards(wildcards) == {**wildcards, "length": 8, "seed": 3}


def test_tuned_cells_and_their_directories() -> None:
    ds = _ds(tune={"lrs": [0.001, 0.01], "archs": ["lstm"]})
    cells = tuning.tuned_cells("mem", ds)
    assert cells == [
        {"dataset": "mem", "arch": "lstm", "optimizer": "adam", "length": 8},
        {"dataset": "mem", "arch": "lstm", "optimizer": "adam", "length": 16},
    ]
    assert tuning.selected_path(cells[0]) == "results/tune/mem/lstm/adam/len8/selected.json"
    assert tuning.TRIAL_LOG == "logs/tune/{dataset}/{arch}/{optimizer}/len{length}/lr{lr}.log"


@pytest.mark.parametrize("name", list(tasks.TASKS))
def test_every_task_has_its_decisions(name: str) -> None:
    task = tasks.task_of(name)
    assert task.history_columns()[:4] == ["epoch", "train_loss", "val_loss", f"val_{task.headline}"]
    assert set(tasks.COMMON_PLOT_KINDS) <= set(task.plot_kinds)


def test_an_unknown_task_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="sentiment"):
        tasks.task_of("translation")
