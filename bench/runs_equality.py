"""Compare the results of two finished runs of the main job: before and after a refactor.

    python bench/runs_equality.py LABEL BEFORE_WORKDIR AFTER_WORKDIR [--note TEXT]
        [--json bench/results/runs_equality.json]

Each WORKDIR is a Snakemake working directory (a clone) where ``make run`` finished. The
comparison is .ci/compare_runs.py's (the one the Slurm proof uses): results/summary/runs.csv
row by row and value by value, apart from timing and provenance columns, and every
metrics.json apart from timings, memory and hardware. Training is deterministic on one
machine for a given thread count, so a refactor that changes nothing computes the same
values: "equal" means identical, not close.

The entry (commits, CPU, counts, every difference) is merged into ``--json`` under LABEL,
which bench/make_results.py renders into bench/RESULTS.md. Exits 1 on any difference.
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent / ".ci"))

from compare_runs import compare_metrics, compare_runs_csv, read_runs  # noqa: E402  (.ci/)

from rnnbench.train.report import cpu_model  # noqa: E402

DEFAULT_OUT = BENCH / "results" / "runs_equality.json"
RUNS_CSV = Path("results/summary/runs.csv")


def commit_of(workdir: Path) -> str:
    done = subprocess.run(
        ["git", "-C", str(workdir), "log", "-1", "--format=%h"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or "unknown"


def compare(before: Path, after: Path) -> dict:
    """Counts and every difference between the two runs' results."""
    differences: list[str] = []
    values = compare_runs_csv(before / RUNS_CSV, after / RUNS_CSV, differences)
    files = compare_metrics(before, after, differences)
    rows = len(read_runs(before / RUNS_CSV)[1])  # the same reading the comparison uses
    return {
        "before": commit_of(before),
        "after": commit_of(after),
        "runs_csv_rows": rows,
        "runs_csv_values": values,
        "metrics_files": files,
        "differences": differences,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("label", help="the entry's name, e.g. 'issue 25, cli package'")
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--note", default="", help="what changed between the two commits")
    parser.add_argument("--json", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    entry = compare(args.before, args.after)
    entry.update(note=args.note, cpu=cpu_model(), date=datetime.date.today().isoformat())
    found = json.loads(args.json.read_text()) if args.json.exists() else {}
    found[args.label] = entry
    args.json.write_text(json.dumps(found, indent=2) + "\n", encoding="utf-8")
    shown = entry["differences"][:20]
    print(
        f"{args.label}: {entry['before']} vs {entry['after']}: "
        f"{entry['runs_csv_rows']} runs.csv rows, {entry['runs_csv_values']} values and "
        f"{entry['metrics_files']} metrics.json compared; "
        f"{len(entry['differences'])} differences",
        *shown,
        sep="\n  ",
    )
    return 1 if entry["differences"] else 0


if __name__ == "__main__":
    sys.exit(main())
