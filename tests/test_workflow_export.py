"""End-to-end: config `export: [tensorboard, mlflow]` keeps a tracker export of the runs up
to date (rule `export`), read back through each library's own reader."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conftest import run_snakemake, write_memory_grid
from test_trackers import check_mlflow, check_tensorboard, needs

pytestmark = pytest.mark.slow


@needs("tensorboard")
@needs("mlflow")
def test_the_export_rule_keeps_both_trackers_up_to_date(tmp_path: Path) -> None:
    write_memory_grid(tmp_path, ["rnn"], ["adam"], seeds=[0, 1])
    config = yaml.safe_load((tmp_path / "config.yaml").read_text())
    config["export"] = ["tensorboard", "mlflow"]
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))

    result = run_snakemake(tmp_path, "--cores", "2")
    assert result.returncode == 0, result.stderr
    runs = tmp_path / "results/summary/runs.csv"
    output = result.stdout + result.stderr
    assert "TensorBoard export: results/export/tensorboard   (open: tensorboard --logdir" in output
    check_tensorboard(tmp_path / "results/export/tensorboard", runs)
    check_mlflow(tmp_path / "results/export/mlflow", runs)
    assert "Nothing to be done" in run_snakemake(tmp_path, "-n").stdout

    # One more seed: the export follows, with every run once.
    config["datasets"]["mem"]["grid"]["seeds"] = [0, 1, 2]
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    result = run_snakemake(tmp_path, "--cores", "2")
    assert result.returncode == 0, result.stderr
    check_tensorboard(tmp_path / "results/export/tensorboard", runs)
    check_mlflow(tmp_path / "results/export/mlflow", runs)
    log = (tmp_path / "logs/export/mlflow.log").read_text()
    assert "1 run(s) written, 2 unchanged, 0 removed" in log


def test_an_unknown_tracker_fails_at_parse_time(tmp_path: Path) -> None:
    write_memory_grid(tmp_path, ["rnn"], ["adam"])
    result = run_snakemake(tmp_path, "-n", "--config", "export=[wandb]")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "export.0: 'wandb' is not allowed" in output, output
