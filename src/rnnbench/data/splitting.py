"""Seeded splits and the checks that stop a degenerate split before it is trained on."""

from __future__ import annotations

from collections import Counter

import numpy as np

from rnnbench.errors import DataError

SPLITS = ("train", "validation", "test")


def _index_groups(records: list[dict], stratify: bool) -> dict[str, list[int]]:
    """Record indices per label (stratified), or all in one group."""
    if not stratify:
        return {"": list(range(len(records)))}
    groups: dict[str, list[int]] = {}
    for i, record in enumerate(records):
        groups.setdefault(record["label"], []).append(i)
    return groups


def carve_validation(
    records: list[dict], fraction: float, seed: int, stratify: bool
) -> tuple[list[dict], list[dict]]:
    """Move ``fraction`` of ``records`` into a validation split (per label if ``stratify``)."""
    rng = np.random.default_rng(seed)
    groups = _index_groups(records, stratify)
    held_out: set[int] = set()
    for label in sorted(groups):
        members = np.array(groups[label])
        take = round(len(members) * fraction)
        held_out.update(rng.permutation(members)[:take].tolist())
    train = [r for i, r in enumerate(records) if i not in held_out]
    validation = [r for i, r in enumerate(records) if i in held_out]
    return train, validation


def split_by_fractions(
    records: list[dict], fractions: dict[str, float], seed: int
) -> dict[str, list[dict]]:
    """Shuffle whole records (sentences) and cut them train/validation/test by ``fractions``."""
    order = np.random.default_rng(seed).permutation(len(records))
    n_train = round(len(records) * fractions["train"])
    n_validation = round(len(records) * fractions["validation"])
    cuts = {
        "train": order[:n_train],
        "validation": order[n_train : n_train + n_validation],
        "test": order[n_train + n_validation :],
    }
    # Keep source order inside a split: it makes outputs easy to diff against the source.
    return {name: [records[i] for i in sorted(idx.tolist())] for name, idx in cuts.items()}


def fold_ids(records: list[dict], folds: int, seed: int, stratify: bool) -> np.ndarray:
    """The cross-validation fold (0 .. folds-1) of each record: a seeded partition, every
    record in exactly one fold. Stratified: each label's records are shuffled and dealt
    out in turn (labels in sorted order, one running count), so every fold holds each
    label's share and the folds' sizes differ by at most one."""
    rng = np.random.default_rng(seed)
    groups = _index_groups(records, stratify)
    order = np.concatenate(
        [rng.permutation(np.array(groups[label])) for label in sorted(groups)]
        or [np.array([], dtype=np.int64)]
    )
    ids = np.empty(len(records), dtype=np.int64)
    ids[order] = np.arange(len(order)) % folds
    return ids


def fold_split(
    records: list[dict], folds: int, fold: int, seed: int, stratify: bool
) -> dict[str, list[dict]]:
    """``{"train", "test"}`` of one fold: fold ``fold`` is the test set, the other folds
    the training part (source order kept in both); validation is carved from train later."""
    if not 0 <= fold < folds:
        raise DataError(
            f"fold {fold} does not exist; split.folds is {folds} (folds 0..{folds - 1})"
        )
    if len(records) < folds:
        raise DataError(f"{len(records)} examples cannot fill {folds} folds; lower split.folds")
    ids = fold_ids(records, folds, seed, stratify)
    return {
        "train": [r for r, f in zip(records, ids, strict=True) if f != fold],
        "test": [r for r, f in zip(records, ids, strict=True) if f == fold],
    }


def label_counts(records: list[dict]) -> dict[str, int]:
    if records and "tags" in records[0]:
        counts = Counter(tag for r in records for tag in r["tags"])
    else:
        counts = Counter(r["label"] for r in records)
    return dict(sorted(counts.items()))


def check_splits(dataset: str, splits: dict[str, list[dict]], hint: str = "") -> None:
    """Abort on an empty split, or a split whose labels (or tags) are a single class.

    A single-class split makes every accuracy meaningless (always predict that class):
    this is the check that would have caught seed C's all-zero labels.
    """
    for name in SPLITS:
        records = splits.get(name, [])
        if not records:
            raise DataError(
                f"dataset {dataset!r}: the {name} split is empty{hint}; add data or change "
                "the split fractions"
            )
        counts = label_counts(records)
        if len(counts) < 2:
            kind = "tag" if "tags" in records[0] else "label"
            raise DataError(
                f"dataset {dataset!r}: every {kind} in the {name} split is {next(iter(counts))!r} "
                f"({len(records)} examples); a single-class split cannot measure anything. "
                "Check the label column / label_map of the source"
            )
