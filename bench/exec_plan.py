"""Collate the paired before/after runs of the execution-plan redesign (issue 17).

The runs themselves are ``bench/train_throughput.py`` of two commits, alternated so that
machine drift falls on both (ABBA at seed A, one round each at seed C), plus the
no-compiler fallback of the new code (``RNNBENCH_NATIVE=0``) and, for comparison, of the
old code. With the old commit checked out beside this one::

    git worktree add ../before 52d7b0a
    T="python bench/train_throughput.py --threads 2 --no-keras --no-naive"
    (cd ../before && PYTHONPATH=src $T --shapes seed-a --out /tmp/b1.json)
    $T --shapes seed-a --out /tmp/a1.json; $T --shapes seed-a --out /tmp/a2.json
    (cd ../before && PYTHONPATH=src $T --shapes seed-a --out /tmp/b2.json)
    ... seed-c once each; RNNBENCH_NATIVE=0 for the no-compiler runs
    python bench/exec_plan.py --before /tmp/b1.json /tmp/b2.json --after /tmp/a1.json \\
        /tmp/a2.json --before-c /tmp/bc.json --after-c /tmp/ac.json ...

writes bench/results/exec_plan.json, which make_results.py renders.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def rates(paths: list[Path], shape: str) -> dict[str, list[float]]:
    """arch -> rnnbench samples/s of each run (one per file), in file order."""
    out: dict[str, list[float]] = {}
    for path in paths:
        for row in json.loads(path.read_text())["shapes"][shape]["results"]:
            out.setdefault(row["arch"], []).append(row["rnnbench"]["samples_per_second"])
    return out


def collate(args: argparse.Namespace) -> dict:
    first = json.loads(args.after[0].read_text())
    table = []
    for shape, before, after in (
        ("seed-a", args.before, args.after),
        ("seed-c", args.before_c, args.after_c),
    ):
        old, new = rates(before, shape), rates(after, shape)
        for arch in new:
            if arch in old:
                b, a = statistics.median(old[arch]), statistics.median(new[arch])
                table.append(
                    {
                        "shape": shape,
                        "arch": arch,
                        "before": old[arch],
                        "after": new[arch],
                        "ratio": round(a / b, 3),
                    }
                )
    fallback = []
    for shape, old_paths, new_paths in (
        ("seed-a", args.nocc_before, args.nocc_after),
        ("seed-c", args.nocc_before, args.nocc_after_c),
    ):
        old = rates(old_paths, shape) if old_paths else {}
        new = rates(new_paths, shape) if new_paths else {}
        for arch in new:
            fallback.append(
                {
                    "shape": shape,
                    "arch": arch,
                    "old_fallback": (old.get(arch) or [None])[0],
                    "new_fallback": new[arch][0],
                }
            )
    return {
        "benchmark": "training samples/s before and after the execution plan (issue 17)",
        "before_commit": args.before_commit,
        "after_commit": args.after_commit,
        "threads": first["threads"],
        "machine": first["machine"],
        "date": first["date"],
        "loads": args.loads.read_text().splitlines() if args.loads else [],
        "compiled": table,
        "no_compiler": fallback,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in (
        "before",
        "after",
        "before-c",
        "after-c",
        "nocc-before",
        "nocc-after",
        "nocc-after-c",
    ):
        parser.add_argument(f"--{name}", type=Path, nargs="*", default=[])
    parser.add_argument("--before-commit", required=True)
    parser.add_argument("--after-commit", required=True)
    parser.add_argument("--loads", type=Path, help="the load average noted before each run")
    parser.add_argument("--out", type=Path, default=BENCH / "results" / "exec_plan.json")
    args = parser.parse_args()
    args.out.write_text(json.dumps(collate(args), indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
