"""The grid: its dimensions, the cells a dataset's config expands to, and each cell's spec.

A *cell* is one training job: ``{"dataset", <one key per dimension>}``. Every dimension is
declared once in :data:`DIMENSIONS`, in path order, with the values a dataset's grid gives
it, its path segment (rnnbench.experiment.paths derives every template from these), its
wildcard pattern, and whether a tuned cell has trials per value of it. A dimension whose
values are ``[None]`` (an *optional* one the dataset does not use, such as ``fold``
without ``split.folds``) is left out of the cell, so of its path and its spec: adding a
dimension leaves every cell that does not use it byte for byte as it was.

A cell's spec is the cell plus its hyperparameters, layered: ``grid.hparams``, then
``grid.per_arch[<arch>]``, then ``grid.per_optimizer[<optimizer>]`` (:data:`HPARAM_LAYERS`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


def folds_of(ds: Mapping[str, Any]) -> int | None:
    """The number of cross-validation folds of a dataset (``split.folds``); None without."""
    return (ds.get("split") or {}).get("folds")


@dataclass(frozen=True)
class Dimension:
    """One axis of the grid."""

    key: str  # the cell's and the spec's key, and the rule wildcard
    segment: str  # its part of a run directory, a format template of ``key``
    values: Callable[[Mapping[str, Any], Mapping[str, Any]], list[Any]]  # (ds, block) -> values
    kind: type = str  # the value's type (a wildcard is a string)
    pattern: str | None = None  # the wildcard's regex; None: one of the grid's values
    tuned: bool = False  # a tuned cell has its own trials per value (see experiment.tuning)
    optional: bool = False  # may be absent (None): left out of the cell, path and spec


def _train_size_values(ds: Mapping[str, Any], block: Mapping[str, Any]) -> list[int | None]:
    """grid.train_sizes (example counts), or ``[None]``: the whole training split, and no
    ``train_size`` in the cell, its path or its spec (the default)."""
    return list(block.get("train_sizes") or [None])


def _fold_values(ds: Mapping[str, Any], block: Mapping[str, Any]) -> list[int | None]:
    folds = folds_of(ds)
    return list(range(folds)) if folds else [None]


DIMENSIONS: tuple[Dimension, ...] = (
    Dimension("arch", "{arch}", lambda ds, g: list(g.get("archs", [])), tuned=True),
    Dimension("optimizer", "{optimizer}", lambda ds, g: list(g["optimizers"]), tuned=True),
    Dimension("length", "len{length}", lambda ds, g: list(g["lengths"]), int, r"[1-9][0-9]*", True),
    # grid.train_sizes: the cell trains on that many rows of the training split, a nested,
    # seeded (stratified) subset (data.arrays.train_size_rows). Not tuned: a tuned cell's
    # trials run on the whole split and every size trains at the lr they select.
    Dimension(
        "train_size", "n{train_size}", _train_size_values, int, r"[1-9][0-9]*", optional=True
    ),
    Dimension("fold", "fold{fold}", _fold_values, int, r"[0-9]+", optional=True),
    Dimension("seed", "seed{seed}", lambda ds, g: list(g["seeds"]), int, r"[0-9]+"),
)
BY_KEY: dict[str, Dimension] = {dim.key: dim for dim in DIMENSIONS}
# Every spec has these; the optional ones only where the cell has them.
REQUIRED_KEYS: tuple[str, ...] = ("dataset", *(d.key for d in DIMENSIONS if not d.optional))
OPTIONAL_KEYS: tuple[str, ...] = tuple(d.key for d in DIMENSIONS if d.optional)
# What identifies a tuned cell (its trials and selection): the dataset and the tuned dims.
TUNED_KEYS: tuple[str, ...] = ("dataset", *(d.key for d in DIMENSIONS if d.tuned))
HPARAM_LAYERS: tuple[str, ...] = ("hparams", "per_arch", "per_optimizer")


# What a block of ``grid.blocks`` may set: the grid's dimensions. Everything else
# (hparams, per_arch, per_optimizer, tune) is the grid's, shared by every block, so a cell
# that two blocks share has one spec and trains once.
BLOCK_KEYS: tuple[str, ...] = ("archs", "optimizers", "lengths", "seeds")


def blocks(ds: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The factorial blocks a dataset's grid is the union of: the grid itself, then each
    entry of ``grid.blocks``, which takes every dimension it does not set from the grid
    (e.g. ``{archs: [gru], optimizers: [sgd, nag, adam]}``: the grid's lengths and seeds).
    A grid without ``blocks`` is one block: its cells, paths and specs are unchanged."""
    grid = ds["grid"]
    base = {key: value for key, value in grid.items() if key != "blocks"}
    return [base, *({**base, **block} for block in grid.get("blocks") or [])]


def axis_values(ds: Mapping[str, Any], key: str) -> list[Any]:
    """Every value of a grid key (archs, optimizers, lengths, seeds) over all its blocks,
    in order of first appearance: the lengths to prepare data for (each once), the
    architectures and optimizers a tune may name."""
    return list(dict.fromkeys(v for block in blocks(ds) for v in block.get(key) or []))


def grid_from_list(grid: Any) -> Any:
    """The grid written as a list of factorial blocks (``grid: [{...}, {archs: [gru],
    optimizers: [...]}]``) in its mapping form: the first item is the grid (hparams, tune
    and the rest), every further item one of ``grid.blocks``. Anything else unchanged."""
    if isinstance(grid, list) and grid and isinstance(grid[0], Mapping):
        first, *rest = grid
        return {**first, "blocks": [*(first.get("blocks") or []), *rest]}
    return grid


def layouts() -> list[tuple[str, ...]]:
    """Every set of keys a cell can have, in path order: each optional dimension present
    or absent (the run-directory templates a workflow needs)."""
    optional = [d.key for d in DIMENSIONS if d.optional]
    found = []
    for present in itertools.product([False, True], repeat=len(optional)):
        chosen = {key for key, on in zip(optional, present, strict=True) if on}
        found.append(tuple(d.key for d in DIMENSIONS if not d.optional or d.key in chosen))
    return found


def _expand(
    name: str, ds: Mapping[str, Any], dims: tuple[Dimension, ...], keep: Callable
) -> list[dict[str, Any]]:
    cells = []
    for block in blocks(ds):
        axes = [[v for v in dim.values(ds, block) if keep(dim, v)] for dim in dims]
        for values in itertools.product(*axes):
            cell = {"dataset": name}
            for dim, value in zip(dims, values, strict=True):
                if value is not None:
                    cell[dim.key] = value
            if cell not in cells:
                cells.append(cell)
    return cells


def grid_cells(name: str, ds: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every cell of a dataset's grid, in config order (arch, optimizer, length, fold,
    seed: with ``split.folds: k`` every cell once per fold, before the seed)."""
    return _expand(name, ds, DIMENSIONS, lambda dim, value: True)


def identity(cell: Mapping[str, Any], keys: tuple[str, ...] = TUNED_KEYS) -> dict[str, Any]:
    """The part of a cell (or spec) named by ``keys`` that it has."""
    return {key: cell[key] for key in keys if cell.get(key) is not None}


def expand_tuned(
    name: str, ds: Mapping[str, Any], keep: Callable[[str, Any], bool]
) -> list[dict[str, Any]]:
    """The tuned identities of a dataset's grid whose values ``keep(key, value)`` accepts."""
    dims = tuple(d for d in DIMENSIONS if d.tuned)
    return _expand(name, ds, dims, lambda dim, value: keep(dim.key, value))


def cell_from_wildcards(wildcards: Mapping[str, Any]) -> dict[str, Any]:
    """A cell (or a tuned identity) from a rule's wildcards: the grid keys they hold,
    typed as the dimensions say."""
    get = wildcards.get if hasattr(wildcards, "get") else lambda k: getattr(wildcards, k, None)
    cell: dict[str, Any] = {"dataset": get("dataset")}
    for dim in DIMENSIONS:
        value = get(dim.key)
        if value is not None:
            cell[dim.key] = dim.kind(value)
    return cell


def hparam_layers(ds: Mapping[str, Any], cell: Mapping[str, Any]) -> list[tuple[str, dict]]:
    """``(where, hparams)`` of each layer a cell's hparams come from, lowest first."""
    grid = ds["grid"]
    return [
        ("hparams", grid["hparams"]),
        (f"per_arch.{cell['arch']}", grid["per_arch"].get(cell["arch"], {})),
        (f"per_optimizer.{cell['optimizer']}", grid["per_optimizer"].get(cell["optimizer"], {})),
    ]


def cell_spec(ds: Mapping[str, Any], cell: Mapping[str, Any]) -> dict[str, Any]:
    """The training spec of one cell: grid hparams, then per-arch, then per-optimizer."""
    hparams: dict[str, Any] = {}
    for _, layer in hparam_layers(ds, cell):
        hparams.update(layer)
    return {**cell, "hparams": hparams}


def set_at(name: str, ds: Mapping[str, Any], cell: Mapping[str, Any], key: str | None) -> str:
    """Where a grid's hparam ``key`` is set for a cell: the last layer that sets it."""
    found = [where for where, layer in hparam_layers(ds, cell) if key is not None and key in layer]
    return f" (set at datasets.{name}.grid.{found[-1]}.{key})" if found else ""
