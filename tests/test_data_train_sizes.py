"""grid.train_sizes' training sets: seeded, nested across sizes, stratified by label."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from rnnbench.data.arrays import TrainSizeError, train_order, train_size_rows


def _labels(total: int = 1000, positive: float = 0.3, seed: int = 5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.permutation(np.arange(total) < int(total * positive)).astype(np.int64)


def test_sizes_are_nested_and_seeded() -> None:
    y = _labels()
    sets = {n: set(train_size_rows(y, n).tolist()) for n in (10, 100, 250, 999, 1000)}
    sizes = sorted(sets)
    for small, large in itertools.pairwise(sizes):
        assert len(sets[small]) == small and sets[small] < sets[large]  # a proper subset
    assert sets[1000] == set(range(1000))
    # seeded: the same rows every time, whatever else ran (no global random state)
    np.random.seed(123)
    np.testing.assert_array_equal(train_size_rows(y, 100), train_size_rows(y, 100))
    # a genuine draw: neither the first rows nor the same rows as another seed
    assert sets[100] != set(range(100))
    assert set(train_order(y, seed=1)[:100].tolist()) != sets[100]


@pytest.mark.parametrize("n", [10, 37, 100, 333, 999])
def test_every_size_is_stratified_by_label(n: int) -> None:
    y = _labels(positive=0.3)
    rows = train_size_rows(y, n)
    positives = int(y[rows].sum())
    assert abs(positives - 0.3 * n) <= 1  # the split's 30% to within one row
    three = np.repeat([0, 1, 2], [500, 300, 200])
    rows = train_size_rows(three, n)
    counts = np.bincount(three[rows], minlength=3)
    assert np.all(np.abs(counts - n * np.array([0.5, 0.3, 0.2])) <= 1)


def test_per_token_tags_are_permuted_not_stratified() -> None:
    tags = np.zeros((50, 7), dtype=np.int64)
    rows = train_size_rows(tags, 20)
    assert len(set(rows.tolist())) == 20 and rows.tolist() == sorted(rows.tolist())
    assert set(rows.tolist()) < set(train_size_rows(tags, 30).tolist())


def test_whole_split_and_a_size_above_it() -> None:
    y = _labels(total=40)
    assert train_size_rows(y, None) is None
    with pytest.raises(
        TrainSizeError,
        match=r"dataset 'mem': grid.train_sizes has 4,000, but its training split holds 40 examples",
    ):
        train_size_rows(y, 4000, dataset="mem")


def test_the_size_is_a_grid_dimension_only_where_configured() -> None:
    from rnnbench.experiment.grid import cell_spec, grid_cells
    from rnnbench.experiment.paths import run_dir
    from rnnbench.experiment.spec import resolve_spec

    grid = {"archs": ["rnn"], "optimizers": ["adam"], "lengths": [50], "seeds": [0],
            "hparams": {}, "per_arch": {}, "per_optimizer": {}}  # fmt: skip
    (plain,) = grid_cells("mem", {"grid": grid})
    assert "train_size" not in plain
    assert run_dir(plain) == "results/runs/mem/rnn/adam/len50/seed0"
    sized = grid_cells("mem", {"grid": {**grid, "train_sizes": [1000, 4000]}})
    assert [c["train_size"] for c in sized] == [1000, 4000]
    assert run_dir(sized[0]) == "results/runs/mem/rnn/adam/len50/n1000/seed0"
    spec = resolve_spec(cell_spec({"grid": grid}, sized[1]))
    assert spec.train_size == 4000 and spec.identity()["train_size"] == 4000
    assert "train_size" not in resolve_spec(cell_spec({"grid": grid}, plain)).identity()
