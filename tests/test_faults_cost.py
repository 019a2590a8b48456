"""Cost checked at `snakemake -n` (issue 24, family 5): a cell that cannot fit its job's
memory fails when the workflow is parsed, naming the cell and its estimate, instead of
dying in training with a raw allocation traceback (`hidden: 100000`: ~600 GB)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conftest import SCHEMA_PATH, run_snakemake, write_memory_grid
from rnnbench.config import memory_grid_config, prepare_config
from rnnbench.errors import ConfigError

pytestmark = pytest.mark.fault

HUGE = {"epochs": 1, "batch_size": 32, "hidden": 100_000, "head_hidden": 0}
CELL = "datasets.mem.grid (arch lstm, optimizer adam, length 12)"


def _config(**extra: object) -> dict:
    grid = {"archs": ["rnn", "lstm"], "optimizers": ["adam"], "lengths": [12], "seeds": [0]}
    config = memory_grid_config(grid, {"train": 64, "validation": 16, "test": 16}, HUGE)
    config["datasets"]["mem"]["grid"]["per_arch"] = {"rnn": {"hidden": 8}}
    return {**config, **extra}


def test_a_cell_too_big_for_its_job_fails_naming_the_cell_and_its_estimate() -> None:
    with pytest.raises(ConfigError) as info:
        prepare_config(_config(), SCHEMA_PATH)
    message = str(info.value)
    assert f"{CELL}: 40,001,300,001 params" in message and "~597.3 GB (weights 149.0 GB" in message
    assert "over the train job's mem_mb 3000 (2.9 GB)" in message
    assert "--set-resources train:mem_mb=N" in message and "over_budget: warn" in message
    assert "arch rnn" not in message  # the small cell fits


def test_over_budget_warn_turns_it_into_a_note() -> None:
    notes = prepare_config(_config(cost_check={"over_budget": "warn"}), SCHEMA_PATH)
    assert any(note.startswith(f"{CELL}: 40,001,300,001 params") for note in notes)


def test_the_job_s_own_memory_and_gpu_set_the_limit() -> None:
    config = _config()
    config["datasets"]["mem"]["grid"]["hparams"]["hidden"] = 1000  # ~190 MB to train
    prepare_config(config, SCHEMA_PATH)
    with pytest.raises(ConfigError, match=r"over the train job's mem_mb 100 \(100\.0 MB\)"):
        prepare_config(_config() | {"datasets": config["datasets"]}, SCHEMA_PATH, {"mem_mb": 100})
    gpu = {"gpu": 1, "mem_mb": 100}  # on a GPU, its memory is the limit
    prepare_config(_config() | {"datasets": config["datasets"]}, SCHEMA_PATH, gpu)
    small_gpu = _config(cost_check={"gpu_memory_gib": 0.01}) | {"datasets": config["datasets"]}
    with pytest.raises(ConfigError, match=r"over cost_check\.gpu_memory_gib 0\.01 \(the train job"):
        prepare_config(small_gpu, SCHEMA_PATH, gpu)


@pytest.mark.slow
def test_snakemake_dry_run_fails_before_any_job_and_set_resources_counts(tmp_path: Path) -> None:
    write_memory_grid(tmp_path, ["lstm"], ["adam"], hparams=HUGE)
    result = run_snakemake(tmp_path, "-n")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert (
        f"{CELL}: 40,001,300,001 params" in output and "over the train job's mem_mb 3000" in output
    )
    assert "rule synthesize" not in output  # nothing planned, let alone run
    config = yaml.safe_load((tmp_path / "config.yaml").read_text())
    config["datasets"]["mem"]["grid"]["hparams"]["hidden"] = 1000
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    assert run_snakemake(tmp_path, "-n").returncode == 0
    tight = run_snakemake(tmp_path, "-n", "--set-resources", "train:mem_mb=100")
    assert tight.returncode != 0
    assert "over the train job's mem_mb 100" in tight.stdout + tight.stderr
