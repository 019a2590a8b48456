"""grid.train_sizes as Snakemake jobs: new sizes run only new cells, a grid without sizes
keeps its paths, and a size beyond the training split fails at ``snakemake -n``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import run_snakemake, write_memory_grid

pytestmark = pytest.mark.slow
HPARAMS = {"epochs": 1, "batch_size": 32, "hidden": 4, "head_hidden": 0}


def _grid(workdir: Path, **grid: object) -> None:
    write_memory_grid(workdir, ["rnn"], ["adam"], hparams=HPARAMS, samples=(128, 32, 32), **grid)


def _dry(workdir: Path) -> str:
    result = run_snakemake(workdir, "-n")
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _train_outputs(dry: str) -> list[str]:
    return sorted(
        line.split("results/runs/")[1].split("/metrics.json")[0]
        for line in dry.splitlines()
        if "output:" in line and "metrics.json" in line
    )


def test_a_grid_without_train_sizes_keeps_its_paths_and_specs(tmp_path: Path) -> None:
    _grid(tmp_path)
    dry = run_snakemake(tmp_path, "-n", "-p")
    assert dry.returncode == 0, dry.stderr
    assert _train_outputs(dry.stdout) == ["mem/rnn/adam/len12/seed0"]
    spec = json.loads(re.search(r"--spec '(\{.*?\})'", dry.stdout).group(1))
    assert set(spec) == {"dataset", "arch", "optimizer", "length", "seed", "hparams"}
    # ... and so does one with train_sizes: null (the schema's explicit default)
    _grid(tmp_path, train_sizes=None)
    assert _train_outputs(_dry(tmp_path)) == ["mem/rnn/adam/len12/seed0"]


def test_adding_a_size_runs_only_the_new_cells(tmp_path: Path) -> None:
    _grid(tmp_path, train_sizes=[32, 64], seeds=[0, 1])
    done = run_snakemake(tmp_path, "--cores", "2")
    assert done.returncode == 0, done.stdout + done.stderr
    for size in (32, 64):
        metrics = json.loads(
            (tmp_path / f"results/runs/mem/rnn/adam/len12/n{size}/seed0/metrics.json").read_text()
        )
        assert metrics["spec"]["train_size"] == size
        assert metrics["examples"] == {"train": size, "validation": 32, "test": 32}
    runs = (tmp_path / "results/summary/runs.csv").read_text().splitlines()
    assert runs[0].startswith("dataset,task,arch,optimizer,length,train_size,seed")
    summary = tmp_path / "results/summary"
    assert "length 12" in (summary / "mem/plots/metric_vs_train_size.svg").read_text()
    assert "smallest size solving" in (summary / "mem/solved_by_size.csv").read_text()
    assert "Rankings across training-set sizes" in (summary / "summary.md").read_text()
    assert "Nothing to be done" in _dry(tmp_path)

    _grid(tmp_path, train_sizes=[32, 64, 128], seeds=[0, 1])
    assert _train_outputs(_dry(tmp_path)) == [
        "mem/rnn/adam/len12/n128/seed0",
        "mem/rnn/adam/len12/n128/seed1",
    ]


def test_a_size_beyond_the_training_split_fails_at_dry_run(tmp_path: Path) -> None:
    _grid(tmp_path, train_sizes=[64, 500])
    result = run_snakemake(tmp_path, "-n")
    assert result.returncode != 0
    assert (
        "datasets.mem.grid.train_sizes: 500 is larger than the training split of dataset "
        "'mem', which holds 128 examples; use sizes <= 128"
    ) in result.stdout + result.stderr
