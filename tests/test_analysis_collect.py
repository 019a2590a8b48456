"""runs.csv: one row per run, fixed columns, diverged runs kept, clear errors."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from rnnbench.analysis.collect import (
    LEADING_COLUMNS,
    PROVENANCE_COLUMNS,
    AnalysisError,
    collect_runs,
    read_runs_csv,
    write_runs_csv,
)
from test_analysis_helpers import (
    LN2,
    diverged_before_any_epoch,
    make_metrics,
    seed_c_metrics,
    write_run,
)


def _runs(root: Path) -> list[Path]:
    return [
        write_run(root, make_metrics(seed=1, accuracy=0.86), [0.6, 0.4]),
        write_run(root, make_metrics(seed=0, accuracy=0.84), [0.6, 0.4]),
        write_run(root, make_metrics(arch="gru", length=50, accuracy=0.8)),
        write_run(root, make_metrics(arch="gru", length=200, accuracy=0.82)),
        write_run(root, seed_c_metrics(), [LN2] * 5),
        write_run(
            root, diverged_before_any_epoch(arch="lstm", optimizer="sgd", hparams={"lr": 10.0})
        ),
        write_run(root, make_metrics(dataset="gmb", task="ner", arch="rnn", accuracy=0.6)),
    ]


def test_columns_rows_and_flags(tmp_path: Path) -> None:
    runs = collect_runs(_runs(tmp_path))
    assert list(runs.columns[: len(LEADING_COLUMNS)]) == list(LEADING_COLUMNS)
    for column in (
        "test_accuracy",
        "test_f1",
        "test_auc",
        "test_loss",
        "validation_accuracy",
        "test_entity_f1",
        "test_token_accuracy",
        "test_entity_f1_geo",
        "test_entity_f1_per",
        "majority_test",
        "majority_validation",
        "hp_lr",
        "hp_momentum",
        "run_dir",
    ):
        assert column in runs.columns, column
    assert runs.columns[-1] == "run_dir"
    assert "test_headline" not in runs.columns[len(LEADING_COLUMNS) :]
    # Sorted by dataset, arch, optimizer, length (numerically), seed.
    keys = (
        runs[["dataset", "arch", "optimizer", "length", "seed"]].astype(str).agg("/".join, axis=1)
    )
    assert keys.tolist() == [
        "gmb/rnn/adam/120/0",
        "imdb/gru/adam/50/0",
        "imdb/gru/adam/200/0",
        "imdb/lstm/adam/120/0",
        "imdb/lstm/adam/120/1",
        "imdb/lstm/sgd/120/0",
        "imdb/rnn/sgd/120/0",
    ]
    by_key = dict(zip(keys, runs.to_dict("records"), strict=True))
    diverged = by_key["imdb/lstm/sgd/120/0"]
    assert diverged["status"] == "diverged" and diverged["flags"] == "diverged"
    assert math.isnan(diverged["test_accuracy"]) and math.isnan(diverged["test_headline"])
    assert pd.isna(diverged["best_epoch"])
    seed_c = by_key["imdb/rnn/sgd/120/0"]
    assert seed_c["flags"] == "single_class;stuck;degenerate"
    assert seed_c["test_headline"] == 0.99
    assert by_key["imdb/lstm/adam/120/1"]["flags"] == ""
    assert by_key["imdb/lstm/adam/120/1"]["test_headline"] == 0.86
    gmb = by_key["gmb/rnn/adam/120/0"]
    assert gmb["headline_metric"] == "entity_f1" and gmb["test_headline"] == 0.6
    assert gmb["test_entity_f1_per"] == 0.75


def test_provenance_columns(tmp_path: Path) -> None:
    gpu = make_metrics(arch="gru", device_name="NVIDIA H200", exec_path="cuDNN")
    gpu["hardware"].update(
        {
            "device": "cuda:0",
            "gpu": "NVIDIA H200",
            "tf32": {"matmul": False, "cudnn": True},
            "amp_dtype": "bfloat16",
        }
    )
    old = make_metrics(arch="rnn")  # a metrics.json from before the provenance fields
    old["hardware"] = {"cpu_model": "Old CPU", "cpu_cores": 2}
    old["versions"] = {"python": "3.11"}
    paths = [
        write_run(tmp_path, make_metrics(exec_path="torch module (oneDNN)")),
        write_run(tmp_path, gpu),
        write_run(tmp_path, old),
    ]
    write_runs_csv(paths, tmp_path / "runs.csv")
    runs = read_runs_csv(tmp_path / "runs.csv")
    assert set(PROVENANCE_COLUMNS) <= set(runs.columns)
    hp = [c for c in runs.columns if c.startswith("hp_")]
    assert runs.columns.get_loc("exec_path") < runs.columns.get_loc(hp[0])
    by_arch = {row["arch"]: row for row in runs.to_dict("records")}
    lstm, gru, rnn = by_arch["lstm"], by_arch["gru"], by_arch["rnn"]
    assert (lstm["exec_path"], lstm["device_name"]) == ("torch module (oneDNN)", "Test CPU")
    assert (lstm["cpu_model"], lstm["device"]) == ("Test CPU", "cpu")
    assert pd.isna(lstm["tf32_matmul"]) and pd.isna(lstm["amp_dtype"])  # CPU: none
    assert (lstm["torch_version"], lstm["rnnbench_version"]) == ("2.5.0", "0.1.0")
    assert (gru["exec_path"], gru["device_name"]) == ("cuDNN", "NVIDIA H200")
    assert (gru["tf32_matmul"], gru["tf32_cudnn"], gru["amp_dtype"]) == (False, True, "bfloat16")
    assert rnn["device_name"] == "Old CPU" and pd.isna(rnn["exec_path"])


def test_csv_is_independent_of_path_order(tmp_path: Path) -> None:
    paths = _runs(tmp_path / "runs")
    write_runs_csv(paths, tmp_path / "a.csv")
    write_runs_csv(list(reversed(paths)), tmp_path / "b.csv")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    back = read_runs_csv(tmp_path / "a.csv")
    assert len(back) == len(paths)
    assert back["flags"].tolist().count("") == 5
    assert "best_epoch" in back and ",," in (tmp_path / "a.csv").read_text()  # empty cells


def test_missing_and_malformed_files_are_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "metrics.json"
    with pytest.raises(AnalysisError, match=str(missing)):
        collect_runs([missing])
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(AnalysisError, match=r"bad\.json"):
        collect_runs([bad])
    partial = tmp_path / "partial.json"
    partial.write_text('{"status": "ok", "spec": {"dataset": "x"}}', encoding="utf-8")
    with pytest.raises(AnalysisError, match=r"partial.json.*spec.arch"):
        collect_runs([partial])


def test_no_runs_gives_an_empty_table(tmp_path: Path) -> None:
    frame = write_runs_csv([], tmp_path / "runs.csv")
    assert frame.empty and list(frame.columns[:3]) == ["dataset", "task", "arch"]


def test_runs_from_before_hparams_batching_count_as_shuffled(tmp_path: Path) -> None:
    """metrics.json written before the key existed: those runs batched "shuffled", so a
    directory mixing them with newer runs is not split by hp_batching."""
    from rnnbench.analysis.compare import varying_columns

    older = make_metrics(seed=0)
    assert "batching" not in older["hparams"]
    newer = make_metrics(seed=1, hparams={"batching": "shuffled"})
    runs = collect_runs([write_run(tmp_path, older), write_run(tmp_path, newer)])
    assert runs["hp_batching"].tolist() == ["shuffled", "shuffled"]
    assert "hp_batching" not in varying_columns(runs)
    bucketed = make_metrics(seed=2, hparams={"batching": "by_length"})
    runs = collect_runs([write_run(tmp_path, older), write_run(tmp_path, bucketed)])
    assert "hp_batching" in varying_columns(runs)
