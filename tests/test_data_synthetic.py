"""The memory task generator: deterministic, exactly balanced, signal where configured."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import validated
from rnnbench.data.arrays import load_encoded
from rnnbench.data.stages import synthesize_memory, write_memory_datacard
from rnnbench.data.synthetic import generate_memory_split
from rnnbench.errors import DataError
from rnnbench.experiment.sources import signal_index


def test_deterministic_for_seed_split_and_length() -> None:
    a = generate_memory_split(50, 20, 5, seed=3, split="train")
    b = generate_memory_split(50, 20, 5, seed=3, split="train")
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y, b.y)
    for other in (
        generate_memory_split(50, 20, 5, seed=4, split="train"),
        generate_memory_split(50, 20, 5, seed=3, split="test"),
    ):
        assert not np.array_equal(a.x, other.x)
    # another length is another stream, not a prefix of this one
    longer = generate_memory_split(50, 30, 5, seed=3, split="train")
    assert not np.array_equal(a.x[:, :5], longer.x[:, :5])


@pytest.mark.parametrize("n", [2, 10, 11, 101])
def test_classes_exactly_balanced(n: int) -> None:
    split = generate_memory_split(n, 8, 0, seed=0, split="validation")
    assert split.y.dtype == np.int64 and set(np.unique(split.y)) == {0, 1}
    assert int(split.y.sum()) == n // 2
    assert len(split) == n


def test_labels_are_shuffled() -> None:
    y = generate_memory_split(100, 8, 0, seed=0, split="train").y
    assert 0 < int(y[:50].sum()) < 50  # not all of one class first


@pytest.mark.parametrize(
    ("position", "length", "index"),
    [(5, 20, 5), (-1, 20, 19), (-3, 9, 6), ({"from_start": 0}, 9, 0), ({"from_end": 2}, 9, 7)],
)
def test_signal_at_the_resolved_index(position: int | dict, length: int, index: int) -> None:
    resolved = signal_index(position, length)
    assert resolved == index
    split = generate_memory_split(40, length, resolved, seed=1, split="train")
    assert split.x.dtype == np.float32 and split.x.shape == (40, length)
    np.testing.assert_array_equal(split.x[:, index], np.where(split.y == 1, 1.0, -1.0))
    others = np.delete(split.x, index, axis=1)
    assert not np.isin(others, [1.0, -1.0]).any()  # only the signal column holds +-1
    assert split.lengths.tolist() == [length] * 40


def test_synthesize_memory_writes_every_split(tmp_path: Path) -> None:
    ds = validated(
        {
            "task": "memory",
            "format": "synthetic",
            "synthetic": {
                "samples": {"train": 10, "validation": 4, "test": 6},
                "signal_position": {"from_end": 3},
                "seed": 2,
            },
            "grid": {"lengths": [7, 12]},
        }
    )
    for length in (7, 12):
        synthesize_memory("mem", ds, length, tmp_path / f"len{length}.npz")
    data = load_encoded(tmp_path / "len7.npz")
    assert data.meta.task == "memory" and data.meta.length == 7
    assert data.meta.vocab_size == 0 and data.meta.num_classes == 2
    assert {s: len(a) for s, a in data.splits.items()} == {"train": 10, "validation": 4, "test": 6}
    train = data.splits["train"]
    expected = generate_memory_split(10, 7, 4, seed=2, split="train")
    np.testing.assert_array_equal(train.x, expected.x)
    np.testing.assert_array_equal(train.x[:, 4], np.where(train.y == 1, 1.0, -1.0))

    write_memory_datacard(
        "mem",
        ds,
        {12: str(tmp_path / "len12.npz"), 7: str(tmp_path / "len7.npz")},
        tmp_path / "c.json",
    )
    card = json.loads((tmp_path / "c.json").read_text())
    assert card["lengths"]["7"]["signal_index"] == 4
    assert card["lengths"]["12"]["signal_index"] == 9
    assert card["splits"]["train"]["label_counts"] == {"0": 5, "1": 5}
    assert card["splits"]["test"]["token_length"]["max"] == 7  # the shortest length's splits


@pytest.mark.fault
def test_memory_datacard_refuses_a_single_class_split(tmp_path: Path) -> None:
    ds = validated(
        {
            "task": "memory",
            "format": "synthetic",
            "synthetic": {"samples": {"train": 4, "validation": 2, "test": 2}},
            "grid": {"lengths": [8]},
        }
    )
    synthesize_memory("mem", ds, 8, tmp_path / "len8.npz")
    with np.load(tmp_path / "len8.npz") as data:
        arrays = dict(data)
    arrays["test_y"] = np.zeros_like(arrays["test_y"])
    np.savez(tmp_path / "len8.npz", **arrays)
    with pytest.raises(DataError, match="'mem': the test split at length 8 is single-class"):
        write_memory_datacard("mem", ds, {8: str(tmp_path / "len8.npz")}, tmp_path / "c.json")
    assert not (tmp_path / "c.json").exists()


def test_marker_variant_inputs() -> None:
    """The marker variant (Hochreiter & Schmidhuber 1997): channel 0 is the plain task's
    sequence value for value, channel 1 is 1 exactly at the signal step, 0 elsewhere."""
    plain = generate_memory_split(30, 12, 7, seed=4, split="train")
    marked = generate_memory_split(30, 12, 7, seed=4, split="train", marker=True)
    assert marked.x.dtype == np.float32 and marked.x.shape == (30, 12, 2)
    np.testing.assert_array_equal(marked.x[..., 0], plain.x)
    np.testing.assert_array_equal(marked.y, plain.y)
    expected = np.zeros((30, 12), dtype=np.float32)
    expected[:, 7] = 1.0
    np.testing.assert_array_equal(marked.x[..., 1], expected)
    # the marker says where the sign is: reading the value at the marked step recalls y
    read = (marked.x[..., 0] * marked.x[..., 1]).sum(axis=1)
    np.testing.assert_array_equal(read > 0, marked.y == 1)


def test_marker_variant_end_to_end(tmp_path: Path) -> None:
    """Synthesized with ``marker: true``: a 2-channel file whose meta says so, and a model
    built from that meta takes the [B, L, 2] batch (input size 2)."""
    import torch

    from rnnbench.models import build_model

    synthetic = {"samples": {"train": 8, "validation": 4, "test": 4}, "marker": True}
    ds = validated(
        {"task": "memory", "format": "synthetic", "grid": {"lengths": [9]},
         "synthetic": {**synthetic, "signal_position": {"from_end": 3}}}
    )  # fmt: skip
    synthesize_memory("mem", ds, 9, tmp_path / "len9.npz")
    data = load_encoded(tmp_path / "len9.npz")
    assert data.meta.input_channels == 2
    x = data.splits["test"].x
    assert x.shape == (4, 9, 2) and x[:, 6, 1].tolist() == [1.0] * 4 and x[..., 1].sum() == 4
    for arch in ("rnn", "lstm", "bilstm"):
        model = build_model(arch, data.meta, {"hidden": 4})
        out = model(torch.from_numpy(x), torch.from_numpy(data.splits["test"].lengths).long())
        assert out.shape == (4,)
    plain = validated({**ds, "synthetic": {**ds["synthetic"], "marker": False}})
    synthesize_memory("mem", plain, 9, tmp_path / "plain.npz")
    plain_data = load_encoded(tmp_path / "plain.npz")
    assert plain_data.meta.input_channels == 1
    np.testing.assert_array_equal(plain_data.splits["test"].x, x[..., 0])


def test_marker_variant_trains_and_records_the_signal_index(tmp_path: Path) -> None:
    """One epoch of `rnnbench train` on the 2-channel file; metrics.json says where the
    signal sits (the analysis marks bidirectional models with it)."""
    from rnnbench.train import run_training

    samples = {"train": 16, "validation": 8, "test": 8}
    ds = validated(
        {"task": "memory", "format": "synthetic", "grid": {"lengths": [9]},
         "synthetic": {"samples": samples, "signal_position": 6, "marker": True}}
    )  # fmt: skip
    synthesize_memory("mem", ds, 9, tmp_path / "len9.npz")
    spec = {"dataset": "mem", "arch": "bilstm", "optimizer": "adam", "length": 9, "seed": 0,
            "hparams": {"epochs": 1, "batch_size": 8, "hidden": 4, "device": "cpu"}}  # fmt: skip
    run_training(tmp_path / "len9.npz", tmp_path / "run", spec)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["status"] == "ok" and metrics["signal_index"] == 6
    assert metrics["examples"] == samples
