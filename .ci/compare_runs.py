"""CI check: two runs of the same grid (e.g. local and Slurm) give the same results.

python .ci/compare_runs.py REFERENCE_WORKDIR OTHER_WORKDIR

Compares, between the two Snakemake working directories,
  * results/summary/runs.csv: the same rows (by dataset, arch, optimizer, length, seed),
    the same columns, and every value equal as written, except the timing columns and
    where each run computed (rnnbench.analysis.collect.PROVENANCE_COLUMNS: device, CPU
    model, execution path, versions);
  * every results/runs/**/metrics.json: equal except the keys that legitimately differ
    between two runs of one spec (rnnbench.train.report.NONDETERMINISTIC_KEYS: timings,
    memory, hardware).
Training is deterministic on CPU for a given thread count, so "equal" means identical,
not close. Exits non-zero and lists every difference otherwise.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

from rnnbench.analysis.collect import PROVENANCE_COLUMNS
from rnnbench.experiment.grid import DIMENSIONS
from rnnbench.train.report import NONDETERMINISTIC_KEYS

# A row's cell: the dataset and every grid dimension (the experiment core's, in path order);
# the optional ones (train_size, fold) where runs.csv has their column.
GRID_KEYS = ("dataset", *(dim.key for dim in DIMENSIONS))
# runs.csv columns measured in time, not computed from data and spec.
TIMING_COLUMNS = {"seconds_per_epoch", "samples_per_second"}
# runs.csv columns that say where a run computed (a Slurm node may have another CPU);
# a different execution path would show in the metric columns anyway.
SKIPPED_COLUMNS = TIMING_COLUMNS | set(PROVENANCE_COLUMNS)


def read_runs(path: Path) -> tuple[list[str], dict[tuple[str, ...], dict[str, str]]]:
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
        columns = list(reader.fieldnames or [])
    keys = [key for key in GRID_KEYS if key in columns]
    keyed = {tuple(row[key] for key in keys): row for row in rows}
    if len(keyed) != len(rows):
        sys.exit(f"{path}: duplicate grid cells")
    return columns, keyed


def _name(cell: tuple[str, ...]) -> str:
    """A cell as a path-like name; an optional dimension a row leaves empty is left out."""
    return "/".join(key for key in cell if key)


def compare_runs_csv(ref: Path, other: Path, problems: list[str]) -> int:
    ref_columns, ref_rows = read_runs(ref)
    other_columns, other_rows = read_runs(other)
    if ref_columns != other_columns:
        problems.append(f"runs.csv columns differ:\n    {ref_columns}\n    {other_columns}")
    for cell in sorted(ref_rows.keys() ^ other_rows.keys()):
        side = "reference" if cell in ref_rows else "other run"
        problems.append(f"runs.csv: cell {_name(cell)} only in the {side}")
    compared = 0
    for cell in sorted(ref_rows.keys() & other_rows.keys()):
        for column in ref_columns:
            if column in SKIPPED_COLUMNS or column not in other_columns:
                continue
            a, b = ref_rows[cell].get(column), other_rows[cell].get(column)
            compared += 1
            if a != b:
                problems.append(f"runs.csv {_name(cell)}: {column} = {a!r} vs {b!r}")
    return compared


def compare_metrics(ref_root: Path, other_root: Path, problems: list[str]) -> int:
    ref_files = {p.relative_to(ref_root) for p in ref_root.glob("results/runs/**/metrics.json")}
    other_files = {
        p.relative_to(other_root) for p in other_root.glob("results/runs/**/metrics.json")
    }
    for rel in sorted(ref_files ^ other_files):
        side = "reference" if rel in ref_files else "other run"
        problems.append(f"{rel}: only in the {side}")
    for rel in sorted(ref_files & other_files):
        a = json.loads((ref_root / rel).read_text())
        b = json.loads((other_root / rel).read_text())
        for key in sorted((a.keys() | b.keys()) - set(NONDETERMINISTIC_KEYS)):
            if a.get(key) != b.get(key):
                problems.append(f"{rel}: {key} differs: {a.get(key)!r} vs {b.get(key)!r}")
    return len(ref_files & other_files)


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        sys.exit(__doc__)
    ref_root, other_root = Path(argv[0]), Path(argv[1])
    problems: list[str] = []
    runs_csv = Path("results/summary/runs.csv")
    values = compare_runs_csv(ref_root / runs_csv, other_root / runs_csv, problems)
    files = compare_metrics(ref_root, other_root, problems)
    if files == 0:
        problems.append("no metrics.json to compare")
    if problems:
        sys.exit(
            f"{ref_root} and {other_root} differ:\n  "
            + "\n  ".join(problems[:50])
            + (f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else "")
        )
    print(
        f"identical results: {values} runs.csv values (timing columns "
        f"{sorted(TIMING_COLUMNS)} ignored) and {files} metrics.json files "
        f"(ignoring {', '.join(NONDETERMINISTIC_KEYS)})"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
