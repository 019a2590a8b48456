"""Runtime faults: divergence, a failed checkpoint write, a kill while the encoded array is
written, and a failing cell under ``--keep-going``. Each asserts the exact behaviour.

Everything runs on the memory task (generated, no data files), on tiny grids.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from conftest import run_snakemake, write_memory_grid
from rnnbench.data import arrays
from rnnbench.data.arrays import load_encoded
from rnnbench.data.stages import synthesize_memory
from rnnbench.train import run_training
from rnnbench.train.checkpoint import CHECKPOINT_FORMAT
from rnnbench.train.report import NONDETERMINISTIC_KEYS

LENGTH = 12
SYNTHETIC = {
    "samples": {"train": 128, "validation": 64, "test": 64},
    "signal_position": {"from_end": 2},
    "seed": 0,
}

pytestmark = pytest.mark.fault


# ---------------------------------------------------------------- helpers


def write_config(workdir: Path, archs: list[str], optimizers: list[str], **grid: Any) -> None:
    write_memory_grid(workdir, archs, optimizers, lengths=[LENGTH], samples=(128, 64, 64), **grid)


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    return run_snakemake(workdir, *args, timeout=600)


def run_dir(workdir: Path, arch: str, optimizer: str) -> Path:
    return workdir / "results/runs/mem" / arch / optimizer / f"len{LENGTH}/seed0"


def metrics_of(workdir: Path, arch: str, optimizer: str) -> dict[str, Any]:
    return json.loads((run_dir(workdir, arch, optimizer) / "metrics.json").read_text())


def comparable(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if k not in NONDETERMINISTIC_KEYS}


def spec(**hparams: Any) -> dict[str, Any]:
    base = {"epochs": 3, "batch_size": 32, "hidden": 8, "head_hidden": 0, "patience": None}
    return {
        "dataset": "mem",
        "arch": "lstm",
        "optimizer": "adam",
        "length": LENGTH,
        "seed": 0,
        "hparams": base | hparams,
    }


@pytest.fixture(scope="module")
def memory_npz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("mem") / f"len{LENGTH}.npz"
    synthesize_memory("mem", {"synthetic": SYNTHETIC}, LENGTH, path)
    return path


# ---------------------------------------------------------------- divergence


@pytest.mark.slow
def test_non_finite_loss_in_one_cell_is_recorded_as_diverged_and_the_grid_completes(
    tmp_path: Path,
) -> None:
    """SGD at lr 1e38 really overflows the RNN's weights (no monkeypatching): the first
    batch after the step gives a non-finite loss. The other cell is untouched."""
    write_config(tmp_path, ["rnn", "lstm"], ["sgd"], per_arch={"rnn": {"lr": 1.0e38}})
    result = snakemake(tmp_path, "--cores", "2")
    assert result.returncode == 0, result.stderr

    diverged = metrics_of(tmp_path, "rnn", "sgd")
    assert diverged["status"] == "diverged" and diverged["diverged_epoch"] == 1
    assert diverged["hparams"]["lr"] == 1.0e38
    assert diverged["test"] is None and diverged["best_epoch"] is None
    assert metrics_of(tmp_path, "lstm", "sgd")["status"] == "ok"
    log = tmp_path / f"logs/train/mem/rnn/sgd/len{LENGTH}/seed0.log"
    assert "non-finite training loss; stopping (diverged)" in log.read_text()

    with open(tmp_path / "results/summary/runs.csv", encoding="utf-8") as handle:
        rows = {row["arch"]: row for row in csv.DictReader(handle)}
    assert sorted(rows) == ["lstm", "rnn"]
    assert rows["rnn"]["status"] == "diverged" and "diverged" in rows["rnn"]["flags"]
    assert rows["lstm"]["status"] == "ok"


# ---------------------------------------------------------------- checkpoint write failure


def test_failed_checkpoint_write_keeps_the_previous_checkpoint_and_resumes(
    memory_npz: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills up during epoch 2's checkpoint: half the bytes are written, then
    ENOSPC. The job fails with that error; epoch 1's checkpoint is intact, no temp file
    is left, and the rerun resumes from epoch 1 to the uninterrupted run's result."""
    reference = run_training(memory_npz, tmp_path / "reference", spec())

    real_save = torch.save
    checkpoint_writes = []

    def disk_full_on_second_checkpoint(obj: Any, f: Any, *args: Any, **kwargs: Any) -> None:
        if Path(f).name.startswith(".checkpoint.pt.tmp-"):
            checkpoint_writes.append(f)
            if len(checkpoint_writes) == 2:
                Path(f).write_bytes(b"PK\x03\x04 half a checkpoint")
                raise OSError(28, "No space left on device")
        real_save(obj, f, *args, **kwargs)

    out = tmp_path / "failed"
    monkeypatch.setattr(torch, "save", disk_full_on_second_checkpoint)
    with pytest.raises(OSError, match="No space left on device"):
        run_training(memory_npz, out, spec())
    monkeypatch.undo()

    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pt", "history.csv"]
    saved = torch.load(out / "checkpoint.pt", map_location="cpu", weights_only=True)
    assert saved["format"] == CHECKPOINT_FORMAT and saved["progress"]["epoch"] == 1
    assert len((out / "history.csv").read_text().splitlines()) == 1 + 1

    resumed = run_training(memory_npz, out, spec())
    assert resumed["resumed_from_epoch"] == 1
    assert comparable(resumed) == comparable(reference)
    assert not (out / "checkpoint.pt").exists()


# ---------------------------------------------------------------- kill during encode/pad


def test_failed_array_write_midway_leaves_nothing_under_the_final_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """np.savez writes part of the archive, then the disk fills: no file under either name."""
    real_savez = np.savez

    def half_then_enospc(handle: Any, **kwargs: Any) -> None:
        real_savez(handle, **{k: kwargs[k] for k in list(kwargs)[:2]})
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(arrays.np, "savez", half_then_enospc)
    target = tmp_path / f"len{LENGTH}.npz"
    with pytest.raises(OSError, match="No space left on device"):
        synthesize_memory("mem", {"synthetic": SYNTHETIC}, LENGTH, target)
    assert list(tmp_path.iterdir()) == []


KILLED_WRITER = textwrap.dedent(
    """
    import os, signal, sys
    import numpy as np
    from rnnbench.data import arrays
    from rnnbench.data.stages import synthesize_memory

    real_savez = np.savez

    def killed_midway(handle, **kwargs):
        real_savez(handle, **{k: kwargs[k] for k in list(kwargs)[:2]})
        handle.flush()
        os.kill(os.getpid(), signal.SIGKILL)  # kill -9: no cleanup code runs

    arrays.np.savez = killed_midway
    synthesize = {"synthetic": %r}
    synthesize_memory("mem", synthesize, %d, sys.argv[1])
    """
)


@pytest.mark.slow
def test_kill_9_while_the_array_is_written_leaves_no_complete_looking_file(
    tmp_path: Path,
) -> None:
    """A real SIGKILL in the middle of the npz write: only the hidden temp file exists,
    the final path does not, so Snakemake schedules the synthesize job again; the rerun
    writes a loadable array."""
    write_config(tmp_path, ["rnn"], ["adam"])
    target = tmp_path / f"results/prepared/mem/len{LENGTH}.npz"
    code = KILLED_WRITER % (SYNTHETIC, LENGTH)
    proc = subprocess.run(
        [sys.executable, "-c", code, str(target)], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert not target.exists()
    leftovers = [p.name for p in target.parent.iterdir()]
    assert len(leftovers) == 1 and leftovers[0].startswith(f".len{LENGTH}.npz.tmp-")
    assert os.path.getsize(target.parent / leftovers[0]) > 0  # it really was mid-write

    dry = snakemake(tmp_path, "-n", str(target.relative_to(tmp_path)))
    assert dry.returncode == 0, dry.stderr
    assert "rule synthesize:" in dry.stdout and f"len{LENGTH}.npz" in dry.stdout

    result = snakemake(tmp_path, "--cores", "1", str(target.relative_to(tmp_path)))
    assert result.returncode == 0, result.stderr
    assert load_encoded(target).meta.length == LENGTH


# ---------------------------------------------------------------- --keep-going


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_a_failing_cell_with_keep_going_lets_every_other_cell_finish(tmp_path: Path) -> None:
    """`device: cuda` for one arch passes `snakemake -n` (the job may run on a GPU node)
    but fails at run time on this CPU machine; the other cells still complete, and
    Snakemake names the failed job's log."""
    write_config(tmp_path, ["rnn", "gru", "lstm"], ["adam"], per_arch={"gru": {"device": "cuda"}})
    assert snakemake(tmp_path, "-n").returncode == 0  # valid config: a runtime fault

    result = snakemake(tmp_path, "--cores", "2", "--keep-going")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    for arch in ("rnn", "lstm"):
        assert metrics_of(tmp_path, arch, "adam")["status"] == "ok"
    assert not (run_dir(tmp_path, "gru", "adam") / "metrics.json").exists()

    log = f"logs/train/mem/gru/adam/len{LENGTH}/seed0.log"
    assert "Error in rule train" in output and log in output
    assert (
        "hparams.device is 'cuda' but no CUDA device is available" in (tmp_path / log).read_text()
    )
    assert not (tmp_path / "results/summary/runs.csv").exists()  # needs every cell


@pytest.mark.fault
def test_an_optimizer_update_that_overflows_is_recorded_as_diverged(tmp_path: Path) -> None:
    ds = {
        "synthetic": {
            "samples": {"train": 64, "validation": 16, "test": 16},
            "signal_position": {"from_end": 2},
            "seed": 0,
        }
    }
    data = tmp_path / "len8.npz"
    synthesize_memory("mem", ds, 8, data)
    spec = {
        "dataset": "mem",
        "arch": "rnn",
        "optimizer": "adam",
        "length": 8,
        "seed": 0,
        "hparams": {"epochs": 3, "batch_size": 16, "hidden": 4, "head_hidden": 0, "lr": 1e38},
    }
    metrics = run_training(data, tmp_path / "run", spec)  # must not raise
    assert metrics["status"] == "diverged"
    assert metrics["diverged_epoch"] == 1
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert saved["status"] == "diverged" and saved["test"] is None
