"""hparams.batching: the default "shuffled" batches are the historical ones; "by_length"
batches hold rows of similar length, every row once, seeded by (seed, epoch) alone; and
the padded GPU path equals the packed reference on such batches."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import torch

from rnnbench.train import SpecError, resolve_spec, run_training
from rnnbench.train.batches import (
    SplitTensors,
    batches,
    epoch_batches,
    epoch_order,
)
from test_models import SMALL, make_meta
from test_models_padded import EXACT, assert_same_results, padded_and_packed
from test_train import _comparable, _spec, _write

BASE = {"dataset": "toy", "arch": "lstm", "optimizer": "adam", "length": 12, "seed": 0}


def random_lengths(n: int, length: int, seed: int = 0) -> torch.Tensor:
    return torch.randint(1, length + 1, (n,), generator=torch.Generator().manual_seed(seed))


def cut(order: torch.Tensor, sizes: list[int]) -> list[torch.Tensor]:
    return list(order.split(sizes))


# ---------------------------------------------------------------- the batches


def test_shuffled_is_the_historical_batching() -> None:
    lengths = random_lengths(1001, 48)
    for epoch in (1, 2):
        order, sizes = epoch_batches(lengths, 64, seed=5, epoch=epoch)
        assert torch.equal(order, epoch_order(1001, 5, epoch))
        assert sizes == [64] * 15 + [41]
    # batches() with explicit sizes yields what it yields without them
    data = SplitTensors(torch.arange(1001)[:, None], lengths, torch.arange(1001))
    order, sizes = epoch_batches(lengths, 64, seed=5, epoch=1)
    old = list(batches(data, 64, epoch_order(1001, 5, 1)))
    new = list(batches(data, 64, order, sizes))
    assert len(old) == len(new) == 16
    assert all(
        torch.equal(a, b) for pair in zip(old, new, strict=True) for a, b in zip(*pair, strict=True)
    )


@pytest.mark.parametrize(("n", "batch_size", "window"), [(1001, 16, 5), (3000, 7, 50), (5, 8, 50)])
def test_by_length_takes_every_row_once(n: int, batch_size: int, window: int) -> None:
    lengths = random_lengths(n, 48)
    order, sizes = epoch_batches(lengths, batch_size, 1, 3, "by_length", window)
    assert sorted(order.tolist()) == list(range(n))
    assert sum(sizes) == n and all(0 < s <= batch_size for s in sizes)
    assert sum(s < batch_size for s in sizes) <= 1  # only the epoch's last rows


def test_by_length_depends_on_seed_and_epoch_only() -> None:
    lengths = random_lengths(2000, 48)

    def run(seed: int, epoch: int) -> list[list[int]]:
        return [b.tolist() for b in cut(*epoch_batches(lengths, 16, seed, epoch, "by_length"))]

    assert run(4, 2) == run(4, 2)  # e.g. a resumed run's epoch 2
    assert run(4, 2) != run(4, 3) and run(4, 2) != run(5, 2)


def test_by_length_batches_are_length_homogeneous_within_each_window() -> None:
    n, batch_size, window = 4000, 16, 10
    lengths = random_lengths(n, 48)
    order, sizes = epoch_batches(lengths, batch_size, 2, 1, "by_length", window)
    groups = cut(order, sizes)
    # The window each row came from: its place in the epoch's permutation.
    place = torch.empty(n, dtype=torch.long)
    place[epoch_order(n, 2, 1)] = torch.arange(n)
    windows: dict[int, list[torch.Tensor]] = {}
    for group in groups:
        home = (place[group] // (batch_size * window)).unique()
        assert len(home) == 1  # a batch never mixes windows
        windows.setdefault(int(home), []).append(lengths[group])
    for found in windows.values():
        found.sort(key=lambda g: (int(g.min()), int(g.max())))
        for a, b in itertools.pairwise(found):
            assert int(a.max()) <= int(b.min())  # the window's lengths cut into runs
    # The batches' order is shuffled across windows, not window after window.
    homes = [int((place[g] // (batch_size * window))[0]) for g in groups]
    assert homes != sorted(homes)
    # And the point: far fewer padded steps than shuffled batches.
    shuffled = epoch_batches(lengths, batch_size, 2, 1)
    steps = {
        name: sum(int(lengths[g].max()) * len(g) for g in cut(*result))
        for name, result in (("shuffled", shuffled), ("by_length", (order, sizes)))
    }
    assert steps["by_length"] < 0.7 * steps["shuffled"]


# ---------------------------------------------------------------- the hparam


def test_batching_defaults_to_shuffled_and_accepts_by_length() -> None:
    assert resolve_spec(dict(BASE)).training["batching"] == "shuffled"
    spec = {**BASE, "hparams": {"batching": "by_length"}}
    assert resolve_spec(spec).training["batching"] == "by_length"


@pytest.mark.parametrize("value", ["sorted", "BY_LENGTH", True, None, 1])
def test_bad_batching_names_the_key_and_the_choices(value: object) -> None:
    with pytest.raises(SpecError, match=r"hparams\.batching must be one of") as info:
        resolve_spec({**BASE, "hparams": {"batching": value}})
    assert "['shuffled', 'by_length']" in str(info.value)


def test_by_length_trains_resumes_and_is_recorded(tmp_path: Path) -> None:
    data = _write(tmp_path / "sentiment.npz", "sentiment")
    spec = _spec("sentiment", "lstm", batch_size=8, batching="by_length", patience=None)
    full = run_training(data, tmp_path / "full", spec)
    assert full["status"] == "ok" and full["hparams"]["batching"] == "by_length"

    def kill_after_one(epoch: int, model: torch.nn.Module, record: dict) -> None:
        if epoch == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_training(data, tmp_path / "killed", spec, on_epoch_end=kill_after_one)
    resumed = run_training(data, tmp_path / "killed", spec)
    assert resumed["resumed_from_epoch"] == 1
    same = {
        k: v for k, v in _comparable(resumed).items() if k not in ("data", "resumed_from_epoch")
    }
    assert same == {k: v for k, v in _comparable(full).items() if k in same}
    hparams = {k: v for k, v in spec["hparams"].items() if k != "batching"}
    shuffled = run_training(data, tmp_path / "shuffled", {**spec, "hparams": hparams})
    assert shuffled["hparams"]["batching"] == "shuffled"
    assert shuffled["final_train_loss"] != full["final_train_loss"]  # other batches


# ---------------------------------------------------------------- padded == packed


def bucket(length: int, shortest: bool) -> torch.Tensor:
    """One by_length batch of 7 rows: the shortest rows (all shorter than ``length``:
    padding in every row) or a middle batch (near-equal lengths)."""
    lengths = random_lengths(300, length, seed=3)
    order, sizes = epoch_batches(lengths, 7, 0, 1, "by_length", window=300 // 7)
    groups = sorted(cut(order, sizes), key=lambda g: int(lengths[g].max()))
    return lengths[groups[0] if shortest else groups[len(groups) // 2]]


def assert_padded_equals_packed_on_buckets(
    arch: str, layers: int, padding: str, task: str, dtype: torch.dtype, device: str, tol: dict
) -> None:
    length = 9
    meta = make_meta(task=task, length=length, padding=padding, num_classes=3)
    for shortest in (True, False):
        lengths = bucket(length, shortest).to(device)
        assert int(lengths.max()) - int(lengths.min()) <= 2
        padded, reference = padded_and_packed(arch, meta, {"layers": layers}, dtype, device)
        h = torch.randn(len(lengths), length, SMALL["embedding_dim"], dtype=dtype, device=device)
        assert_same_results(padded, reference, h, lengths, tol)


@pytest.mark.parametrize("arch", ["lstm", "bilstm", "bigru"])
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("padding", ["post", "pre"])
@pytest.mark.parametrize("task", ["sentiment", "ner"])
def test_padded_equals_packed_on_length_bucketed_batches(
    arch: str, layers: int, padding: str, task: str
) -> None:
    assert_padded_equals_packed_on_buckets(arch, layers, padding, task, torch.float64, "cpu", EXACT)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("arch", ["lstm", "bilstm", "bigru"])
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("padding", ["post", "pre"])
@pytest.mark.parametrize("task", ["sentiment", "ner"])
def test_gpu_padded_equals_packed_on_length_bucketed_batches(
    arch: str, layers: int, padding: str, task: str
) -> None:
    torch.backends.cudnn.allow_tf32 = False  # float32 products: comparable at 1e-5
    torch.backends.cuda.matmul.allow_tf32 = False
    tol = {"atol": 1e-5, "rtol": 1e-5}
    assert_padded_equals_packed_on_buckets(arch, layers, padding, task, torch.float32, "cuda", tol)
