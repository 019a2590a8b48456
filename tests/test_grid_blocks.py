"""Grids as unions of factorial blocks, and a tuning budget per optimizer: the cells, the
trials, the checks, and what the workflow plans (a shared cell trains once, each length's
data is prepared once, a one-block grid keeps its paths: nothing retrains)."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import SCHEMA_PATH, base_config, run_snakemake, validated, write_memory_grid
from rnnbench.config import validate_config, validate_grids
from rnnbench.errors import ConfigError
from rnnbench.experiment.grid import axis_values, cell_spec, grid_cells
from rnnbench.experiment.tuning import (
    candidate_lrs,
    final_spec,
    trial_metrics_paths,
    trial_spec,
    tuned_cells,
)

PER_OPTIMIZER = {"sgd": [0.03, 0.1], "nag": [0.01, 0.03], "adam": [1.0e-3, 3.0e-3]}


def memory_ds(**grid: Any) -> dict[str, Any]:
    ds = copy.deepcopy(base_config()["datasets"]["memory"])
    ds["grid"].update(
        {
            "archs": ["rnn", "lstm"],
            "optimizers": ["adam"],
            "lengths": [20, 40],
            "seeds": [0, 1],
            "hparams": {"epochs": 2, "hidden": 8},
            **grid,
        }
    )
    return validated(ds, "memory")


def keys(cells: list[dict[str, Any]]) -> list[tuple]:
    return [(c["arch"], c["optimizer"], c["length"], c["seed"]) for c in cells]


# --- per-optimizer candidate lists ---------------------------------------------------------


def test_per_optimizer_lists_expand_to_each_optimizers_own_trials() -> None:
    ds = memory_ds(optimizers=["sgd", "nag", "adam"], tune={"lrs": PER_OPTIMIZER})
    for cell in tuned_cells("memory", ds):
        lrs = PER_OPTIMIZER[cell["optimizer"]]
        assert candidate_lrs(ds, cell["optimizer"]) == lrs
        paths = trial_metrics_paths(ds, cell)
        assert [re.search(r"/lr([^/]+)/", p).group(1) for p in paths] == [repr(x) for x in lrs]
        assert [trial_spec(ds, cell, lr)["hparams"]["lr"] for lr in lrs] == lrs
    # The same budget: 2 archs x 3 optimizers x 2 lengths tuned cells, 2 trials each.
    assert len(tuned_cells("memory", ds)) == 12
    trials = [p for c in tuned_cells("memory", ds) for p in trial_metrics_paths(ds, c)]
    assert len(trials) == len(set(trials)) == 24


def test_a_single_list_still_serves_every_optimizer() -> None:
    ds = memory_ds(optimizers=["sgd", "adam"], tune={"lrs": [1.0e-3, 1.0e-2]})
    assert candidate_lrs(ds, "sgd") == candidate_lrs(ds, "adam") == [1.0e-3, 1.0e-2]


@pytest.mark.parametrize(
    ("lrs", "expected"),
    [
        ({"sgd": [0.1, 0.3], "adam": [1.0e-3]}, "the same number of trials"),
        ({"adam": [1.0e-3, 3.0e-3]}, "no candidates for ['sgd']"),
        ({**PER_OPTIMIZER}, "datasets.memory.grid.tune.lrs.nag: not a tuned optimizer"),
        ({"sgd": [0.1, 0.1], "adam": [1.0e-3, 3.0e-3]}, "tune.lrs.sgd: [0.1, 0.1] has non-unique"),
        ({"sgd": [0.1, -0.1], "adam": [1.0e-3, 3.0e-3]}, "datasets.memory.grid.tune.lrs.sgd.1"),
        ({"lbfgs": [0.1], "adam": [1.0e-3]}, "lbfgs"),
    ],
)
def test_a_bad_per_optimizer_list_names_the_key(lrs: dict, expected: str) -> None:
    cfg = base_config()
    cfg["datasets_to_run"] = ["memory"]
    cfg["datasets"]["memory"]["grid"].update(
        {"archs": ["rnn"], "optimizers": ["sgd", "adam"], "tune": {"lrs": lrs}}
    )
    with pytest.raises(ConfigError) as err:
        validate_config(cfg, SCHEMA_PATH)
        validate_grids(cfg)
    assert expected in str(err.value)


# --- blocks ----------------------------------------------------------------------------------


def test_a_two_block_grid_is_the_union_and_a_shared_cell_appears_once() -> None:
    ds = memory_ds(blocks=[{"archs": ["lstm"], "optimizers": ["sgd", "adam"], "lengths": [40]}])
    cells = keys(grid_cells("memory", ds))
    first = [(a, "adam", n, s) for a in ("rnn", "lstm") for n in (20, 40) for s in (0, 1)]
    second = [("lstm", "sgd", 40, s) for s in (0, 1)]
    assert cells == first + second  # lstm/adam/40 is in both blocks: listed once
    assert len(cells) == len(set(cells))
    assert axis_values(ds, "lengths") == [20, 40] and axis_values(ds, "archs") == ["rnn", "lstm"]
    assert axis_values(ds, "optimizers") == ["adam", "sgd"]
    # One spec per cell, the grid's hparams for every block.
    assert cell_spec(ds, {"dataset": "memory", "arch": "lstm", "optimizer": "sgd", "length": 40,
                          "seed": 0})["hparams"] == {"epochs": 2, "hidden": 8}  # fmt: skip


def test_the_list_form_is_the_same_grid() -> None:
    blocks = memory_ds(blocks=[{"archs": ["lstm"], "optimizers": ["sgd"]}])
    listed = copy.deepcopy(base_config()["datasets"]["memory"])
    listed["grid"] = [
        {**memory_ds()["grid"]},
        {"archs": ["lstm"], "optimizers": ["sgd"]},
    ]
    assert grid_cells("memory", validated(listed, "memory")) == grid_cells("memory", blocks)


def test_tuning_spans_the_blocks_with_each_optimizers_list() -> None:
    ds = memory_ds(
        lengths=[20],
        blocks=[{"archs": ["lstm"], "optimizers": ["sgd", "nag", "adam"]}],
        tune={"lrs": PER_OPTIMIZER, "archs": ["lstm"]},
    )
    tuned = [(c["arch"], c["optimizer"]) for c in tuned_cells("memory", ds)]
    assert tuned == [("lstm", "adam"), ("lstm", "sgd"), ("lstm", "nag")]
    spec = final_spec(ds, cell_spec(ds, {"dataset": "memory", "arch": "rnn",
                                         "optimizer": "adam", "length": 20, "seed": 0}))  # fmt: skip
    assert not isinstance(spec["hparams"].get("lr"), dict)  # rnn is not tuned


def test_a_block_may_set_only_the_grid_dimensions() -> None:
    ds = copy.deepcopy(base_config()["datasets"]["memory"])
    ds["grid"]["blocks"] = [{"archs": ["lstm"], "hparams": {"hidden": 4}}]
    cfg = {"datasets_to_run": ["memory"], "datasets": {"memory": ds}}
    with pytest.raises(ConfigError, match=r"datasets.memory.grid.blocks.0"):
        validate_config(cfg, SCHEMA_PATH)


# --- the workflow's plan ---------------------------------------------------------------------


def planned(workdir: Path, *args: str) -> dict[str, int]:
    """How many jobs of each rule a dry run plans."""
    result = run_snakemake(workdir, "-n", "--quiet", "rules", *args)
    assert result.returncode == 0, result.stdout + result.stderr
    counts = {}
    for line in result.stdout.splitlines():
        if match := re.match(r"^(\w+)\s+(\d+)$", line.strip()):
            counts[match.group(1)] = int(match.group(2))
    return counts


HPARAMS = {"epochs": 1, "batch_size": 32, "hidden": 4, "head_hidden": 0}


@pytest.mark.slow
def test_a_shared_cell_trains_once_and_each_length_is_prepared_once(tmp_path: Path) -> None:
    write_memory_grid(
        tmp_path,
        ["rnn", "lstm"],
        ["adam"],
        lengths=[8, 12],
        seeds=[0, 1, 2],
        samples=(64, 16, 16),
        hparams=HPARAMS,
        blocks=[{"archs": ["lstm"], "optimizers": ["sgd", "adam"], "lengths": [12]}],
    )
    counts = planned(tmp_path)
    # 2 archs x 2 lengths x 3 seeds, plus lstm/sgd/12 x 3 seeds; lstm/adam/12 only once.
    assert counts["train"] == 12 + 3
    assert counts["synthesize"] == 2  # one array per length, shared by both blocks


@pytest.mark.slow
def test_a_one_block_grid_keeps_its_paths_so_nothing_retrains(tmp_path: Path) -> None:
    write_memory_grid(
        tmp_path, ["rnn"], ["adam"], seeds=[0, 1], samples=(64, 16, 16), hparams=HPARAMS
    )
    result = run_snakemake(tmp_path, "--cores", "2")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "train" not in planned(tmp_path)  # nothing to do
    # The same grid as a block of its own (and as the list form): the same cells.
    config = yaml.safe_load((tmp_path / "config.yaml").read_text())
    grid = config["datasets"]["mem"]["grid"]
    config["datasets"]["mem"]["grid"] = [grid, {"archs": ["rnn"], "seeds": [1]}]
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    assert "train" not in planned(tmp_path)


def test_a_published_entry_shows_its_control_beside_a_not_credible_verdict(
    tmp_path: Path,
) -> None:
    from rnnbench.analysis.collect import collect_runs
    from rnnbench.analysis.published import published_vs_measured
    from rnnbench.analysis.summary import build_summary, render_markdown
    from test_analysis_helpers import make_metrics, seed_c_metrics, write_run

    paths = [
        write_run(tmp_path, seed_c_metrics(dataset="c", arch="gru", optimizer="adam", seed=s))
        for s in range(3)
    ]
    for seed, acc in enumerate([0.84, 0.85, 0.86]):
        metrics = make_metrics(dataset="c_control", arch="gru", seed=seed, accuracy=acc)
        metrics["lr_tuning"] = {"selected_lr": 0.001, "candidates": [0.001, 0.003]}
        paths.append(write_run(tmp_path, metrics))
    runs = collect_runs(paths)
    entry = {
        "source": "Seed C",
        "dataset": "c",
        "arch": "gru",
        "optimizer": "adam",
        "length": 120,
        "metric": "accuracy",
        "value": 0.9974,
        "credible": False,
        "reason": "loss at ln 2",
        "control": {"dataset": "c_control"},
    }
    row = published_vs_measured(runs, [entry]).iloc[0]
    assert row["verdict"].startswith("published value not credible")
    assert row["control"] == "0.850 ± 0.025 (3 seeds; c_control gru/adam, tuned lr 1e-3)"
    md = render_markdown(build_summary(runs, ["c", "c_control"], published=[entry]))
    assert "**not credible**; control beside it: 0.850 ± 0.025 (3 seeds; c_control" in md
    # An entry without a control has an empty column (the report drops it).
    plain = {k: v for k, v in entry.items() if k != "control"}
    assert published_vs_measured(runs, [plain]).iloc[0]["control"] == ""
