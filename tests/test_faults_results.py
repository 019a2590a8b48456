"""Damaged results are detected: a truncated or overwritten metrics.json, model.pt or
history.csv is named with the command that reruns its cell (rnnbench.results), by the
training job before it ends, and by aggregation. The workflow-level check (`snakemake -n`
stops on a damaged cell) is in test_faults_reruns.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from rnnbench.analysis.collect import AnalysisError, load_metrics
from rnnbench.results import damaged_files, damaged_message, damaged_runs
from rnnbench.train import job

pytestmark = pytest.mark.fault


def _cell(run_dir: Path) -> Path:
    run_dir.mkdir(parents=True)
    (run_dir / "metrics.json").write_text(json.dumps({"status": "ok", "spec": {}}) + "\n")
    (run_dir / "history.csv").write_text("epoch,train_loss\n1,0.5\n")
    torch.save({"state_dict": {"w": torch.zeros(64, 64)}}, run_dir / "model.pt")
    return run_dir


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_a_whole_cell_is_not_damaged(tmp_path: Path) -> None:
    assert damaged_files(_cell(tmp_path / "run"), thorough=True) == {}


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("metrics.json", "not valid JSON, truncated or overwritten"),
        ("model.pt", "not a whole torch archive, truncated or overwritten"),
        ("history.csv", "its last line is cut off (no final newline): truncated"),
    ],
)
def test_a_truncated_output_is_named_with_what_is_wrong(
    tmp_path: Path, name: str, why: str
) -> None:
    run_dir = _cell(tmp_path / "run")
    _truncate(run_dir / name)
    damaged = damaged_files(run_dir)
    assert list(damaged) == [str(run_dir / name)]
    assert damaged[str(run_dir / name)].startswith(why)


def test_an_empty_output_and_a_corrupt_model_member_are_named(tmp_path: Path) -> None:
    run_dir = _cell(tmp_path / "run")
    (run_dir / "metrics.json").write_bytes(b"")
    model = run_dir / "model.pt"
    data = bytearray(model.read_bytes())
    data[len(data) // 3] ^= 0xFF  # inside the stored tensor: only its CRC tells
    model.write_bytes(bytes(data))
    assert damaged_files(run_dir) == {str(run_dir / "metrics.json"): "empty"}
    thorough = damaged_files(run_dir, thorough=True)
    assert "fails its checksum" in thorough[str(model)]


def test_only_finished_cells_are_checked_and_the_message_gives_the_rerun(tmp_path: Path) -> None:
    done = _cell(tmp_path / "done")
    _truncate(done / "model.pt")
    running = tmp_path / "running"  # a killed job: no metrics.json yet
    running.mkdir()
    (running / "history.csv").write_text("epoch")
    damaged = damaged_runs([done, running, tmp_path / "never-run"])
    assert list(damaged) == [str(done / "model.pt")]
    message = damaged_message(damaged)
    assert f"  {done / 'model.pt'}: not a whole torch archive" in message
    assert f"`snakemake --forcerun {done / 'model.pt'}`" in message
    assert f"`rm {done / 'model.pt'}`" in message


def test_aggregation_names_a_truncated_metrics_file_and_the_fix(tmp_path: Path) -> None:
    run_dir = _cell(tmp_path / "run")
    _truncate(run_dir / "metrics.json")
    path = run_dir / "metrics.json"
    with pytest.raises(AnalysisError) as err:
        load_metrics(path)
    message = str(err.value)
    assert message.startswith(f"{path}: damaged metrics file, not valid JSON")
    assert f"snakemake --forcerun {path}" in message
    assert f"rm {path}" in message


def test_the_training_job_fails_when_an_output_it_wrote_is_damaged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """The job reads back its outputs before it ends: a damaged one fails it, so Snakemake
    removes the outputs instead of recording the cell as done."""
    run_dir = tmp_path / "run"

    def train_then_damage(data, out, spec, threads, **_):
        _cell(Path(out))
        _truncate(Path(out) / "model.pt")

    monkeypatch.setattr(job, "run_training", train_then_damage)
    assert job.run_job("x.npz", str(run_dir), "{}") == job.EXIT_DAMAGED_OUTPUT
    assert f"{run_dir / 'model.pt'} is damaged: not a whole torch archive" in (
        capsys.readouterr().err
    )

    monkeypatch.setattr(job, "run_training", lambda data, out, spec, threads, **_: _cell(Path(out)))
    assert job.run_job("x.npz", str(tmp_path / "ok"), "{}") == 0
