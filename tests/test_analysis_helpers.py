"""Builders for the analysis tests: synthetic metrics.json / history.csv runs.

The dicts mirror what ``rnnbench.train.loop._metrics`` writes (same keys, nulls where a
diverged run has none), so the aggregation is exercised on the real schema without
training anything. Imported by the other ``test_analysis_*`` modules (pytest puts
tests/ on sys.path).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

LN2 = math.log(2)

HPARAMS: dict[str, Any] = {
    "embedding_dim": 16,
    "hidden": 32,
    "layers": 1,
    "dropout": 0.0,
    "epochs": 5,
    "batch_size": 128,
    "lr": 0.001,
    "weight_decay": 0.0,
    "momentum": None,
    "clip_norm": None,
    "patience": 3,
    "device": "cpu",
    "amp": False,
}


def sentiment_scores(accuracy: float, loss: float = 0.4) -> dict[str, float]:
    return {
        "loss": loss,
        "accuracy": accuracy,
        "f1": accuracy,
        "auc": min(1.0, accuracy + 0.05),
    }


def ner_scores(entity_f1: float, token_accuracy: float = 0.95) -> dict[str, Any]:
    return {
        "loss": 0.2,
        "token_accuracy": token_accuracy,
        "non_o_accuracy": 0.7,
        "entity_precision": entity_f1,
        "entity_recall": entity_f1,
        "entity_f1": entity_f1,
        "per_type": {
            "per": {"precision": 0.8, "recall": 0.7, "f1": 0.75, "support": 10},
            "geo": {"precision": 0.6, "recall": 0.5, "f1": 0.55, "support": 12},
        },
    }


def make_metrics(
    *,
    dataset: str = "imdb",
    task: str = "sentiment",
    arch: str = "lstm",
    optimizer: str = "adam",
    length: int = 120,
    seed: int = 0,
    status: str = "ok",
    test: dict[str, Any] | str | None = "auto",
    accuracy: float = 0.85,
    initial_loss: float | None = 0.70,
    final_train_loss: float | None = 0.30,
    majority_test: float = 0.5,
    majority_label: str = "pos",
    train_label_counts: dict[str, int] | None = None,
    hparams: dict[str, Any] | None = None,
    params: int = 1000,
    seconds_per_epoch: float | None = 2.0,
    epochs_run: int = 5,
    best_epoch: int | None = 4,
    exec_path: str = "compiled kernels",
    device_name: str = "Test CPU",
) -> dict[str, Any]:
    """One run's metrics.json; ``test="auto"`` derives the test dict from ``accuracy``."""
    headline = {"sentiment": "accuracy", "ner": "entity_f1", "memory": "accuracy"}[task]
    if test == "auto":
        if task == "ner":
            test = ner_scores(accuracy)
        elif task == "memory":
            test = {"loss": 0.3, "accuracy": accuracy}
        else:
            test = sentiment_scores(accuracy)
    validation = None if test is None else dict(test)
    if train_label_counts is None:
        train_label_counts = (
            {"O": 900, "B-per": 50, "I-per": 50} if task == "ner" else {"neg": 500, "pos": 500}
        )
    return {
        "schema_version": 1,
        "status": status,
        "spec": {
            "dataset": dataset,
            "arch": arch,
            "optimizer": optimizer,
            "length": length,
            "seed": seed,
        },
        "task": task,
        "headline_metric": headline,
        "hparams": {**HPARAMS, **(hparams or {})},
        "params": params,
        "epochs_run": epochs_run,
        "best_epoch": best_epoch,
        "stopped_early": False,
        "diverged_epoch": 1 if status == "diverged" else None,
        "initial_loss": initial_loss,
        "final_train_loss": final_train_loss,
        "validation": validation,
        "test": test,
        "majority_baseline": {
            "metric": "token_accuracy" if task == "ner" else "accuracy",
            "label": majority_label,
            "validation": majority_test,
            "test": majority_test,
        },
        "train_label_counts": train_label_counts,
        "examples": {"train": 1000, "validation": 100, "test": 100},
        "data": {"path": f"results/prepared/{dataset}/len{length}.npz", "sha256": "0" * 64},
        "seconds_per_epoch": seconds_per_epoch,
        "samples_per_second": None if seconds_per_epoch is None else 1000 / seconds_per_epoch,
        "total_seconds": 10.0,
        "peak_rss_mb": 100.0,
        "peak_gpu_mb": None,
        "resumed_from_epoch": None,
        "hardware": {
            "cpu_model": device_name,
            "cpu_cores": 2,
            "torch_threads": 1,
            "device": "cpu",
            "gpu": None,
            "device_name": device_name,
            "platform": "Linux",
            "exec_path": exec_path,
            "exec_layers": [exec_path],
            "tf32": None,
            "amp_dtype": None,
        },
        "versions": {
            "python": "3.11",
            "torch": "2.5.0",
            "numpy": "2.1.0",
            "rnnbench": "0.1.0",
            "cudnn": None,
        },
    }


def seed_c_metrics(**overrides: Any) -> dict[str, Any]:
    """Seed C's kind of run: loss at ln 2 throughout, "99%" accuracy on a test split whose
    labels are (almost) one class, trained on single-class labels."""
    kwargs: dict[str, Any] = {
        "arch": "rnn",
        "optimizer": "sgd",
        "accuracy": 0.99,
        "initial_loss": LN2,
        "final_train_loss": LN2,
        "majority_test": 0.99,
        "majority_label": "neg",
        "train_label_counts": {"neg": 1000},
        "hparams": {"lr": 1e-7},
    }
    kwargs.update(overrides)
    metrics = make_metrics(**kwargs)
    metrics["test"]["loss"] = LN2
    metrics["test"]["auc"] = None  # undefined with a single class, as metrics.py says
    return metrics


def diverged_before_any_epoch(**overrides: Any) -> dict[str, Any]:
    """A run whose loss went non-finite in epoch 1: no validation or test metrics."""
    kwargs: dict[str, Any] = {
        "status": "diverged",
        "test": None,
        "final_train_loss": None,
        "epochs_run": 0,
        "best_epoch": None,
        "seconds_per_epoch": None,
    }
    kwargs.update(overrides)
    return make_metrics(**kwargs)


def write_run(root: Path, metrics: dict[str, Any], train_losses: list[float] | None = None) -> Path:
    """Write metrics.json (and history.csv when losses are given) where the grid would."""
    spec = metrics["spec"]
    run_dir = (
        root
        / spec["dataset"]
        / spec["arch"]
        / spec["optimizer"]
        / f"len{spec['length']}"
        / f"seed{spec['seed']}"
    )
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "metrics.json"
    path.write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    if train_losses is not None:
        with open(run_dir / "history.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["epoch", "train_loss", "val_loss", "val_accuracy", "seconds"])
            for epoch, loss in enumerate(train_losses, start=1):
                writer.writerow([epoch, loss, loss, 0.5, 1.0])
    return path


def test_builders_follow_the_training_schema() -> None:
    m = make_metrics()
    assert m["test"]["accuracy"] == 0.85 and m["headline_metric"] == "accuracy"
    assert set(m["spec"]) == {"dataset", "arch", "optimizer", "length", "seed"}
    c = seed_c_metrics()
    assert c["initial_loss"] == c["final_train_loss"] == LN2
    assert len(c["train_label_counts"]) == 1
