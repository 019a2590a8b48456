"""The training loop's host syncs: losses summed on the device and read back every
SYNC_EVERY batches; the same numbers as a per-batch ``loss.item()`` sum; divergence still
caught within its epoch."""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

import rnnbench
from rnnbench.data.arrays import IGNORE_INDEX
from rnnbench.train import loop, run_training
from test_train import _history, _spec, _write

PACKAGE = os.path.dirname(rnnbench.__file__) + os.sep


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("sync-data")
    return {task: _write(root / f"{task}.npz", task) for task in ("sentiment", "ner")}


def test_host_syncs_per_epoch_are_bounded(
    data: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """96 batches of one row: ceil(96 / SYNC_EVERY) reads and one at the end, not 96."""
    calls = {"train": 0, "eval": 0}
    real = loop._to_host

    def counted(total: torch.Tensor, units: Any) -> tuple[float, int]:
        calls["train" if torch.is_grad_enabled() else "eval"] += 1
        return real(total, units)

    monkeypatch.setattr(loop, "_to_host", counted)
    spec = _spec("sentiment", "flatten", epochs=2, batch_size=1, patience=None)
    metrics = run_training(data["sentiment"], tmp_path, spec)
    assert metrics["status"] == "ok" and metrics["examples"]["train"] == 96
    per_epoch = math.ceil(96 / loop.SYNC_EVERY) + 1
    assert calls["train"] == 2 * per_epoch
    assert calls["eval"] == 1 + 2 + 1  # initial train loss, 2 validations, test


def count_host_reads(
    data: Path, out: Path, spec: dict, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict, int]:
    """(metrics, reads): every way of reading a tensor on the host, called from rnnbench's
    code inside the training epochs. torch.optim's own .item() on its step counters is not
    counted: those live on the host unless the optimizer is capturable, so they never wait
    for a GPU."""
    counts = {"on": False, "n": 0}
    for name in ("item", "tolist", "__float__", "__int__", "__bool__", "numpy", "cpu"):
        real = getattr(torch.Tensor, name)

        def wrapper(self: torch.Tensor, *args: Any, _real: Any = real, **kwargs: Any) -> Any:
            caller = sys._getframe(1).f_code.co_filename
            counts["n"] += counts["on"] and caller.startswith(PACKAGE)
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, wrapper)
    train_epoch = loop._train_epoch

    def counted_epoch(*args: Any, **kwargs: Any) -> float | None:
        counts["on"] = True
        try:
            return train_epoch(*args, **kwargs)
        finally:
            counts["on"] = False

    monkeypatch.setattr(loop, "_train_epoch", counted_epoch)
    metrics = run_training(data, out, spec)
    return metrics, counts["n"]


def reads_per_epoch(batching: str) -> int:
    """The periodic reads and the final one; by_length also copies the lengths to the host
    and reads its (host-side) batch shuffle, once per epoch each."""
    return math.ceil(96 / loop.SYNC_EVERY) + 1 + 2 * (batching == "by_length")


@pytest.mark.parametrize("batching", ["shuffled", "by_length"])
def test_the_loop_reads_nothing_else_back_per_batch(
    data: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batching: str
) -> None:
    """A model that reads nothing back itself (cnn; NER: units counted on the device too),
    96 batches of one row per epoch."""
    spec = _spec("ner", "cnn", epochs=2, batch_size=1, patience=None, batching=batching)
    metrics, reads = count_host_reads(data["ner"], tmp_path, spec, monkeypatch)
    assert metrics["status"] == "ok" and metrics["examples"]["train"] == 96
    assert reads == 2 * reads_per_epoch(batching)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize(
    ("task", "arch", "batching"),
    [
        ("ner", "lstm", "by_length"),
        ("sentiment", "bilstm", "shuffled"),
        ("ner", "bigru", "by_length"),
    ],
)
def test_gpu_training_reads_back_only_every_sync_every_batches(
    data: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    task: str,
    arch: str,
    batching: str,
) -> None:
    """On a GPU the recurrent models take the padded path, which reads nothing back: the
    whole training step, model included, syncs only where the loop reads its loss sum."""
    spec = _spec(task, arch, epochs=2, batch_size=1, patience=None, batching=batching)
    spec["hparams"]["device"] = "cuda"
    metrics, reads = count_host_reads(data[task], tmp_path, spec, monkeypatch)
    assert metrics["status"] == "ok" and metrics["hardware"]["device"].startswith("cuda")
    assert reads == 2 * reads_per_epoch(batching)


@pytest.mark.parametrize(("task", "arch"), [("sentiment", "lstm"), ("ner", "bigru")])
def test_train_loss_is_the_exact_mean_of_the_batch_losses(
    data: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    task: str,
    arch: str,
) -> None:
    """history's train_loss equals, bit for bit, the Python sum of loss.item() x units over
    units (what the loop computed before it summed on the device)."""
    batches: list[tuple[float, int]] = []
    real = loop.batch_loss

    def recorded(task_: Any, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        loss = real(task_, logits, y)
        if torch.is_grad_enabled():
            n = int((y != IGNORE_INDEX).sum()) if task == "ner" else int(y.shape[0])
            batches.append((loss.item(), n))
        return loss

    expected: list[float] = []

    def epoch_end(epoch: int, model: torch.nn.Module, record: dict) -> None:
        total, units = 0.0, 0
        for value, n in batches:
            total += value * n
            units += n
        expected.append(total / units)
        batches.clear()

    monkeypatch.setattr(loop, "batch_loss", recorded)
    spec = _spec(task, arch, epochs=2, batch_size=7, patience=None)
    run_training(data[task], tmp_path, spec, on_epoch_end=epoch_end)
    history = [float(row["train_loss"]) for row in _history(tmp_path)]
    assert len(expected) == 2 and history == expected


@pytest.mark.fault
def test_a_nan_mid_epoch_is_diverged_in_that_epoch(
    data: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A NaN loss at batch 40 of 96 of epoch 2 (between two reads): diverged at epoch 2,
    nothing of epoch 2 kept (history, best epoch)."""
    seen = {"train": 0}
    real = loop.batch_loss

    def nan_at_136(task: Any, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        loss = real(task, logits, y)
        if torch.is_grad_enabled():
            seen["train"] += 1
            if seen["train"] == 96 + 40:
                return loss * float("nan")
        return loss

    monkeypatch.setattr(loop, "batch_loss", nan_at_136)
    spec = _spec("sentiment", "lstm", epochs=3, batch_size=1, patience=None)
    metrics = run_training(data["sentiment"], tmp_path, spec)
    assert metrics["status"] == "diverged" and metrics["diverged_epoch"] == 2
    assert metrics["epochs_run"] == 1 and metrics["best_epoch"] == 1
    assert len(_history(tmp_path)) == 1 and metrics["test"]["accuracy"] is not None
    assert not (tmp_path / "checkpoint.pt").exists()


@pytest.mark.fault
@pytest.mark.parametrize("batch_size", [16, 1])
def test_huge_learning_rate_still_diverges_in_the_first_epoch(
    data: dict[str, Path], tmp_path: Path, batch_size: int
) -> None:
    spec = _spec("sentiment", "flatten", "sgd", lr=1e6, batch_size=batch_size)
    metrics = run_training(data["sentiment"], tmp_path, spec)
    assert metrics["status"] == "diverged" and metrics["diverged_epoch"] == 1
    assert metrics["best_epoch"] is None and len(_history(tmp_path)) == 0
