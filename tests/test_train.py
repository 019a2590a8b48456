"""End-to-end training jobs on tiny encoded datasets (real model zoo, CPU, 1 thread)."""

from __future__ import annotations

import argparse
import csv
import json
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import rnnbench
from rnnbench.analysis.collect import collect_runs
from rnnbench.analysis.compare import comparison_table
from rnnbench.cli import build_parser
from rnnbench.data.arrays import IGNORE_INDEX, SPLITS, EncodedMeta, Split, save_encoded
from rnnbench.metrics import compute_metrics
from rnnbench.models import native
from rnnbench.train import NONDETERMINISTIC_KEYS, SpecError, loop, report, run_training
from rnnbench.train.checkpoint import load_model

LENGTH = 10
TAGS = ["O", "B-PER", "I-PER", "B-LOC"]


# ---------------------------------------------------------------- tiny datasets


def _sentiment_split(rng: np.random.Generator, n: int) -> Split:
    """Label 1 iff the "good" token (3) appears, else the "bad" one (2): learnable."""
    y = rng.integers(0, 2, size=n)
    lengths = rng.integers(3, LENGTH + 1, size=n).astype(np.int32)
    x = rng.integers(4, 30, size=(n, LENGTH)).astype(np.int32)
    for i in range(n):
        x[i, lengths[i] :] = 0  # post padding
        x[i, rng.integers(0, lengths[i], size=2)] = 2 + y[i]
    return Split(x, lengths, y)


def _ner_split(rng: np.random.Generator, n: int) -> Split:
    """Token 2 -> B-PER, 3 (after 2) -> I-PER, 4 -> B-LOC, else O; pre-padded (Keras)."""
    x = np.zeros((n, LENGTH), dtype=np.int32)
    y = np.full((n, LENGTH), IGNORE_INDEX, dtype=np.int64)
    lengths = rng.integers(3, LENGTH + 1, size=n).astype(np.int32)
    for i in range(n):
        tokens = rng.integers(5, 25, size=lengths[i])
        tags = np.zeros(lengths[i], dtype=np.int64)
        start = rng.integers(0, lengths[i] - 1)
        tokens[start : start + 2], tags[start : start + 2] = (2, 3), (1, 2)
        if rng.random() < 0.5:
            loc = (start + 2) % lengths[i]
            if loc not in (start, start + 1):
                tokens[loc], tags[loc] = 4, 3
        x[i, LENGTH - lengths[i] :] = tokens
        y[i, LENGTH - lengths[i] :] = tags
    return Split(x, lengths, y)


def _memory_split(rng: np.random.Generator, n: int) -> Split:
    """Recall the sign placed at position 1 (seed B, tiny)."""
    y = rng.integers(0, 2, size=n)
    x = rng.standard_normal((n, LENGTH)).astype(np.float32)
    x[:, 1] = np.where(y == 1, 1.0, -1.0)
    return Split(x, np.full(n, LENGTH, dtype=np.int32), y)


MAKERS = {
    "sentiment": (_sentiment_split, 30, 2, ["neg", "pos"]),
    "ner": (_ner_split, 25, len(TAGS), TAGS),
    "memory": (_memory_split, 0, 2, ["negative", "positive"]),
}


def _write(path: Path, task: str, sizes: tuple[int, int, int] = (96, 40, 48)) -> Path:
    make, vocab, classes, names = MAKERS[task]
    rng = np.random.default_rng(7)
    padding = "pre" if task == "ner" else "post"
    meta = EncodedMeta(f"tiny_{task}", task, LENGTH, padding, "post", vocab, classes, names)
    splits = {name: make(rng, n) for name, n in zip(SPLITS, sizes, strict=True)}
    save_encoded(path, meta, splits)
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("data")
    return {task: _write(root / f"{task}.npz", task) for task in MAKERS}


def _spec(task: str, arch: str = "lstm", optimizer: str = "adam", **hparams: Any) -> dict:
    base = {"epochs": 3, "batch_size": 16, "hidden": 8, "device": "cpu"}
    return {
        "dataset": f"tiny_{task}",
        "arch": arch,
        "optimizer": optimizer,
        "length": LENGTH,
        "seed": 3,
        "hparams": base | hparams,
    }


def _comparable(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if k not in NONDETERMINISTIC_KEYS}


def _history(out: Path) -> list[dict[str, str]]:
    with open(out / "history.csv", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _weights(out: Path) -> dict[str, torch.Tensor]:
    return torch.load(out / "model.pt", weights_only=True)["state_dict"]


def _same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# ---------------------------------------------------------------- runs per task

TOP_LEVEL_KEYS = {
    "schema_version",
    "status",
    "spec",
    "task",
    "headline_metric",
    "hparams",
    "params",
    "epochs_run",
    "best_epoch",
    "stopped_early",
    "diverged_epoch",
    "initial_loss",
    "final_train_loss",
    "validation",
    "test",
    "majority_baseline",
    "train_label_counts",
    "examples",
    "data",
    "seconds_per_epoch",
    "samples_per_second",
    "total_seconds",
    "peak_rss_mb",
    "peak_gpu_mb",
    "resumed_from_epoch",
    "hardware",
    "versions",
    "optimizer",
}


def test_sentiment_run_writes_every_output(data: dict[str, Path], tmp_path: Path) -> None:
    spec = _spec("sentiment", "flatten", epochs=6, lr=0.02)
    metrics = run_training(data["sentiment"], tmp_path, spec)
    on_disk = json.loads((tmp_path / "metrics.json").read_text())
    assert on_disk == metrics
    assert set(metrics) == TOP_LEVEL_KEYS
    assert metrics["status"] == "ok" and metrics["diverged_epoch"] is None
    assert metrics["spec"] == {
        k: spec[k] for k in ("dataset", "arch", "optimizer", "length", "seed")
    }
    hp = metrics["hparams"]
    assert hp["lr"] == 0.02 and hp["clip_norm"] is None and hp["hidden"] == 8
    assert hp["embedding_dim"] is None and hp["head_hidden"] == 6  # zoo defaults recorded
    assert {"validation", "test", "majority_baseline"} <= set(metrics)
    assert set(metrics["test"]) == {"loss", "accuracy", "f1", "auc"}
    assert metrics["test"]["accuracy"] >= 0.8  # the label is learnable
    assert metrics["final_train_loss"] < metrics["initial_loss"]
    assert math.isclose(metrics["initial_loss"], math.log(2), rel_tol=0.2)
    baseline = metrics["majority_baseline"]
    assert baseline["metric"] == "accuracy" and 0 < baseline["test"] < 1
    assert metrics["examples"] == {"train": 96, "validation": 40, "test": 48}
    assert metrics["hardware"]["torch_threads"] == 1
    assert set(metrics["versions"]) == {"python", "torch", "numpy", "rnnbench", "cudnn"}
    assert metrics["versions"]["rnnbench"] == rnnbench.__version__
    assert metrics["hardware"]["exec_path"] == "no recurrent layer"  # flatten
    assert metrics["peak_rss_mb"] > 0 and metrics["samples_per_second"] > 0
    # The optimizer's fixed settings as it ran with them, and their source.
    optimizer = metrics["optimizer"]
    assert optimizer["name"] == spec["optimizer"] and optimizer["source"]
    assert optimizer["settings"]["lr"] == 0.02

    rows = _history(tmp_path)
    assert len(rows) == metrics["epochs_run"]
    assert list(rows[0]) == [
        "epoch",
        "train_loss",
        "val_loss",
        "val_accuracy",
        "val_f1",
        "val_auc",
        "seconds",
    ]
    assert not (tmp_path / "checkpoint.pt").exists()

    # model.pt holds the best epoch's weights; reloading it reproduces the test score.
    model, saved = load_model(tmp_path / "model.pt")
    assert saved["epoch"] == metrics["best_epoch"]
    assert metrics["params"] == sum(p.numel() for p in model.parameters())
    split = np.load(data["sentiment"])
    with torch.no_grad():
        logits = model(
            torch.from_numpy(split["test_x"]).long(), torch.from_numpy(split["test_lengths"])
        )
    assert compute_metrics("sentiment", split["test_y"], logits.numpy()) == {
        k: v for k, v in metrics["test"].items() if k != "loss"
    }


def test_ner_run_scores_entities(data: dict[str, Path], tmp_path: Path) -> None:
    metrics = run_training(data["ner"], tmp_path, _spec("ner", "bigru", lr=0.02, epochs=4))
    assert metrics["status"] == "ok"
    assert metrics["headline_metric"] == "entity_f1"
    for split in ("validation", "test"):
        assert {"token_accuracy", "non_o_accuracy", "entity_f1", "per_type"} <= set(metrics[split])
        assert "strict_entity_f1" in metrics[split]  # strict IOB2, the second column
    assert set(metrics["test"]["per_type"]) == {"PER", "LOC"}
    assert metrics["majority_baseline"]["metric"] == "token_accuracy"
    assert metrics["majority_baseline"]["label"] == "O"
    assert metrics["train_label_counts"]["O"] > metrics["train_label_counts"]["B-PER"]
    assert "val_entity_f1" in _history(tmp_path)[0]
    assert "val_strict_entity_f1" in _history(tmp_path)[0]


def test_memory_run_with_explicit_cell(data: dict[str, Path], tmp_path: Path) -> None:
    metrics = run_training(data["memory"], tmp_path, _spec("memory", "gru_cell", epochs=2))
    assert metrics["status"] == "ok"
    assert set(metrics["test"]) == {"loss", "accuracy"}
    assert metrics["hparams"]["clip_norm"] == 1.0


_PLANS = {
    "compiled kernels": "compiled",
    "torch module (oneDNN)": "library",
    "torch module": "library",
    "Python loops": "reference",
}


def test_provenance_reaches_metrics_runs_csv_and_the_comparison(
    data: dict[str, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """metrics.json records what ran the recurrent layers and on which CPU; runs.csv
    carries both; a comparison of cells on different paths says so."""
    # Without compiled kernels the GRU runs the reference loop (faster than torch's GRU).
    scan = "compiled kernels" if native.available() else "Python loops"
    onednn = torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled
    expected = {
        # LSTMs: the compiled kernels, torch's module (oneDNN) without them.
        "lstm": scan
        if native.available()
        else "torch module (oneDNN)"
        if onednn
        else "torch module",
        "gru": scan,  # torch's GRU has no fused CPU kernel: the scan kernels
        "rnn_cell": "Python loops",  # the textbook cell's explicit loop
    }
    paths = []
    for arch, path in expected.items():
        out = tmp_path / "runs" / arch
        run_training(data["sentiment"], out, _spec("sentiment", arch, epochs=1))
        on_disk = json.loads((out / "metrics.json").read_text())
        hardware = on_disk["hardware"]
        assert hardware["exec_path"] == path, arch
        assert hardware["exec_layers"] == [path]
        assert hardware["exec_plan"] == [_PLANS[path]]
        # An LSTM's batches of rows of one length may take oneDNN: each path's share.
        shares = hardware["exec_batches"]
        if arch == "lstm" and onednn:
            assert set(shares) <= {path, "torch module (oneDNN), unpacked"}
            assert sum(shares.values()) == pytest.approx(1.0, abs=1e-3)
        else:
            assert shares == {}
        assert hardware["cpu_model"] == report.cpu_model() and hardware["cpu_model"]
        assert hardware["device_name"] == hardware["cpu_model"] and hardware["gpu"] is None
        assert hardware["tf32"] is None and hardware["amp_dtype"] is None  # CPU
        paths.append(out / "metrics.json")
    two_layers = _spec("sentiment", "rnn_cell", epochs=1, layers=2)
    with caplog.at_level(logging.INFO, logger="rnnbench.train"):
        deep = run_training(data["sentiment"], tmp_path / "deep", two_layers)
    assert "execution plan, bottom layer first: reference, reference (Python loops)" in caplog.text
    assert deep["hardware"]["exec_layers"] == ["Python loops", "Python loops"]
    assert deep["hardware"]["exec_plan"] == ["reference", "reference"]

    runs = collect_runs(paths)
    assert dict(zip(runs["arch"], runs["exec_path"], strict=True)) == expected
    assert set(runs["cpu_model"]) == set(runs["device_name"]) == {report.cpu_model()}
    notes = comparison_table(runs, "tiny_sentiment").attrs["notes"]
    assert len(notes) == 1 and notes[0].startswith("execution paths differ")
    assert all(f"{path} (" in notes[0] for path in set(expected.values()))


def test_subsamples_are_seeded(data: dict[str, Path], tmp_path: Path) -> None:
    spec = _spec("sentiment", "cnn", epochs=1, train_subsample=30, eval_subsample=7, conv_kernel=3)
    metrics = run_training(data["sentiment"], tmp_path, spec)
    assert metrics["examples"] == {"train": 30, "validation": 7, "test": 7}


# ---------------------------------------------------------------- reproducibility


def test_same_spec_twice_gives_identical_results(data: dict[str, Path], tmp_path: Path) -> None:
    # Dropout between two layers and before the head: the global RNG is in play.
    spec = _spec("sentiment", "lstm", layers=2, dropout=0.3, epochs=2)
    first = run_training(data["sentiment"], tmp_path / "a", spec)
    second = run_training(data["sentiment"], tmp_path / "b", spec)
    assert _comparable(first) == _comparable(second)
    strip = [{k: v for k, v in row.items() if k != "seconds"} for row in _history(tmp_path / "a")]
    assert strip == [
        {k: v for k, v in row.items() if k != "seconds"} for row in _history(tmp_path / "b")
    ]
    assert _same_weights(_weights(tmp_path / "a"), _weights(tmp_path / "b"))


class Killed(Exception):
    """Stands in for SIGKILL: raised right after an epoch's checkpoint is on disk."""


@pytest.mark.fault
@pytest.mark.parametrize(
    ("task", "arch", "optimizer"), [("sentiment", "lstm", "adam"), ("ner", "gru", "nag")]
)
def test_killed_run_resumes_to_the_same_result(
    data: dict[str, Path], tmp_path: Path, task: str, arch: str, optimizer: str
) -> None:
    spec = _spec(task, arch, optimizer, epochs=4, patience=None, layers=2, dropout=0.2)
    reference = run_training(data[task], tmp_path / "full", spec)

    def kill_after_two(epoch: int, model: torch.nn.Module, record: dict) -> None:
        if epoch == 2:
            raise Killed

    out = tmp_path / "killed"
    with pytest.raises(Killed):
        run_training(data[task], out, spec, on_epoch_end=kill_after_two)
    assert (out / "checkpoint.pt").exists() and not (out / "metrics.json").exists()
    assert len(_history(out)) == 2

    resumed = run_training(data[task], out, spec)
    assert resumed["resumed_from_epoch"] == 2
    assert _comparable(resumed) == _comparable(reference)
    assert [r["train_loss"] for r in _history(out)] == [
        r["train_loss"] for r in _history(tmp_path / "full")
    ]
    assert _same_weights(_weights(out), _weights(tmp_path / "full"))
    assert not (out / "checkpoint.pt").exists()


@pytest.mark.fault
def test_checkpoint_of_another_spec_is_not_resumed(
    data: dict[str, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spec = _spec("memory", "rnn", epochs=3)

    def kill(epoch: int, model: torch.nn.Module, record: dict) -> None:
        raise Killed

    with pytest.raises(Killed):
        run_training(data["memory"], tmp_path, spec, on_epoch_end=kill)
    changed = _spec("memory", "rnn", epochs=3, lr=0.005)
    with caplog.at_level(logging.WARNING, logger="rnnbench.train"):
        metrics = run_training(data["memory"], tmp_path, changed)
    assert metrics["resumed_from_epoch"] is None and metrics["epochs_run"] == 3
    assert "another spec" in caplog.text


# ---------------------------------------------------------------- early stopping


def test_early_stopping_keeps_the_best_epochs_weights(
    data: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Script the validation headline so epoch 2 is best and patience 2 stops after epoch 4.
    scripted = [0.5, 0.9, 0.6, 0.4]
    real = loop.compute_metrics

    def fake(task: str, y: np.ndarray, logits: np.ndarray, names: list, **_: object) -> dict:
        metrics = real(task, y, logits, names)
        if scripted:  # validation calls, one per epoch; the final test call is real
            metrics["accuracy"] = scripted.pop(0)
        return metrics

    monkeypatch.setattr(loop, "compute_metrics", fake)
    snapshots: dict[int, dict[str, torch.Tensor]] = {}

    def snapshot(epoch: int, model: torch.nn.Module, record: dict) -> None:
        snapshots[epoch] = {k: v.detach().clone() for k, v in model.state_dict().items()}

    spec = _spec("sentiment", "gru", epochs=10, patience=2)
    metrics = run_training(data["sentiment"], tmp_path, spec, on_epoch_end=snapshot)
    assert metrics["epochs_run"] == 4 and metrics["stopped_early"] is True
    assert metrics["best_epoch"] == 2
    assert metrics["validation"]["accuracy"] == 0.9
    assert _same_weights(_weights(tmp_path), snapshots[2])
    assert not _same_weights(_weights(tmp_path), snapshots[4])

    model, _ = load_model(tmp_path / "model.pt")
    split = np.load(data["sentiment"])
    with torch.no_grad():
        logits = model(
            torch.from_numpy(split["test_x"]).long(), torch.from_numpy(split["test_lengths"])
        )
    assert (
        metrics["test"]["accuracy"]
        == real("sentiment", split["test_y"], logits.numpy(), [])["accuracy"]
    )


# ---------------------------------------------------------------- divergence


@pytest.mark.fault
def test_nan_loss_mid_run_is_diverged_not_a_crash(
    data: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    poisoned = {"on": False}
    real = loop.batch_loss

    def nan_loss(task: Any, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        loss = real(task, logits, y)
        return loss * float("nan") if poisoned["on"] and torch.is_grad_enabled() else loss

    def poison_after_two(epoch: int, model: torch.nn.Module, record: dict) -> None:
        poisoned["on"] = epoch >= 2

    monkeypatch.setattr(loop, "batch_loss", nan_loss)
    spec = _spec("sentiment", "lstm", epochs=5)
    metrics = run_training(data["sentiment"], tmp_path, spec, on_epoch_end=poison_after_two)
    assert metrics["status"] == "diverged" and metrics["diverged_epoch"] == 3
    assert metrics["epochs_run"] == 2 and metrics["best_epoch"] in (1, 2)
    assert metrics["test"]["accuracy"] is not None  # evaluated from the best weights
    assert json.loads((tmp_path / "metrics.json").read_text())["status"] == "diverged"
    assert (tmp_path / "model.pt").exists() and not (tmp_path / "checkpoint.pt").exists()


@pytest.mark.fault
def test_huge_learning_rate_diverges_in_the_first_epoch(
    data: dict[str, Path], tmp_path: Path
) -> None:
    spec = _spec("sentiment", "flatten", "sgd", lr=1e6)
    metrics = run_training(data["sentiment"], tmp_path, spec)
    assert metrics["status"] == "diverged" and metrics["diverged_epoch"] == 1
    assert metrics["validation"] is None and metrics["test"] is None
    assert metrics["best_epoch"] is None and metrics["final_train_loss"] is None
    assert metrics["majority_baseline"]["test"] is not None
    assert (tmp_path / "metrics.json").exists() and len(_history(tmp_path)) == 0


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"hparams": {"hiden": 8}}, "hiden"),
        ({"optimizer": "adagrad"}, "adagrad"),
        ({"arch": "mamba"}, "mamba"),
        ({"length": 99}, "length"),
        ({"dataset": "imdb"}, "imdb"),
    ],
)
def test_bad_spec_fails_before_writing_results(
    data: dict[str, Path], tmp_path: Path, change: dict, named: str
) -> None:
    with pytest.raises(ValueError, match=named):
        run_training(data["sentiment"], tmp_path, {**_spec("sentiment"), **change})
    assert not (tmp_path / "metrics.json").exists()


def _parser() -> argparse.ArgumentParser:
    return build_parser(["train"])


def test_cli_trains_and_rejects_bad_specs(
    data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    spec = json.dumps(_spec("memory", "rnn", epochs=1))
    args = _parser().parse_args(
        ["train", "--data", str(data["memory"]), "--out", str(tmp_path), "--spec", spec]
    )
    assert args.func(args) == 0
    assert json.loads((tmp_path / "metrics.json").read_text())["status"] == "ok"

    for bad in ("{not json", json.dumps({**_spec("memory"), "hparams": {"epoch": 1}})):
        argv = ["train", "--data", str(data["memory"]), "--out", str(tmp_path / "x")]
        args = _parser().parse_args([*argv, "--spec", bad, "--threads", "1"])
        assert args.func(args) == 2
    assert "'epoch'" in capsys.readouterr().err
    assert not (tmp_path / "x" / "metrics.json").exists()


def test_spec_error_is_a_value_error() -> None:
    assert issubclass(SpecError, ValueError)


# ---------------------------------------------------------------- mixed precision


@pytest.mark.parametrize(
    ("arch", "task", "amp", "dtype"),
    [
        ("lstm_peephole", "sentiment", "bf16", "bfloat16"),  # the crash (scan.py)
        ("lstm_cifg", "ner", "fp16", "float16"),  # fp16: the GradScaler's path
        ("bigru", "sentiment", "bf16", "bfloat16"),
    ],
)
def test_amp_trains_and_is_recorded(
    data: dict[str, Path], tmp_path: Path, arch: str, task: str, amp: str, dtype: str
) -> None:
    """hparams.amp "bf16"/"fp16" autocast on any device (here the CPU): training runs, the
    losses stay finite, and metrics.json says which dtype ran."""
    spec = _spec(task, arch, epochs=2, amp=amp)
    metrics = run_training(data[task], tmp_path / "run", spec)
    assert metrics["status"] == "ok"
    assert math.isfinite(metrics["final_train_loss"]) and math.isfinite(metrics["initial_loss"])
    assert metrics["hparams"]["amp"] == amp and metrics["hparams"]["tf32"] is False
    assert metrics["hardware"]["amp_dtype"] == dtype
    assert metrics["hardware"]["tf32"] is None  # CPU: TF32 does not apply


def test_amp_true_is_gpu_only(data: dict[str, Path], tmp_path: Path) -> None:
    # The historical switch: bf16 on a GPU, nothing on a CPU (as before it took dtypes).
    metrics = run_training(
        data["sentiment"], tmp_path / "run", _spec("sentiment", "gru", epochs=1, amp=True)
    )
    assert metrics["hparams"]["amp"] is False and metrics["hardware"]["amp_dtype"] is None
    assert loop.resolve_amp(True, torch.device("cpu")) is None
    assert loop.resolve_amp("fp16", torch.device("cpu")) == torch.float16


def test_tf32_switches_both_backends_on_a_gpu_only(monkeypatch: pytest.MonkeyPatch) -> None:
    matmul, cudnn = torch.backends.cuda.matmul, torch.backends.cudnn
    saved = (matmul.allow_tf32, cudnn.allow_tf32)
    try:
        loop.configure_tf32(torch.device("cpu"), True)
        assert (matmul.allow_tf32, cudnn.allow_tf32) == saved  # nothing changed on a CPU
        loop.configure_tf32(torch.device("cuda"), True)
        assert matmul.allow_tf32 and cudnn.allow_tf32
        loop.configure_tf32(torch.device("cuda"), False)
        assert not matmul.allow_tf32 and not cudnn.allow_tf32
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
        assert loop.resolve_amp(True, torch.device("cuda")) == torch.float16
        with pytest.raises(SpecError, match="bfloat16"):
            loop.resolve_amp("bf16", torch.device("cuda"))
    finally:
        matmul.allow_tf32, cudnn.allow_tf32 = saved
