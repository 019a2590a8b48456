"""Benchmark: the data stage on the real datasets, from local archives to padded arrays.

Runs ``snakemake prepare`` for IMDB (50,000 reviews) + GMB (47,959 sentences) at lengths
{120, 200} in a fresh working directory, and records the wall time and the peak resident
memory of the whole process tree (Snakemake plus its concurrent jobs, summed, sampled
every 0.1 s). Then times a no-op rerun. Targets (issue 2): <= 90 s and <= 4 GiB on 2 cores.

    python bench/data_stage.py [--cores 2] [--out bench/results/data_stage.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"


def tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total


def timed_snakemake(workdir: Path, args: list[str]) -> tuple[float, int, int]:
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(workdir)]
    log = workdir / "bench-snakemake.log"
    started = time.perf_counter()
    with open(log, "w") as sink:  # a file, not a pipe: nobody reads it while it runs
        proc = subprocess.Popen([*cmd, *args], stdout=sink, stderr=subprocess.STDOUT)
        watcher, peak = psutil.Process(proc.pid), 0
        while proc.poll() is None:
            with contextlib.suppress(psutil.Error):
                peak = max(peak, tree_rss(watcher))
            time.sleep(0.1)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"snakemake failed:\n{log.read_text()[-3000:]}")
    return elapsed, peak, proc.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "data_stage.json"))
    args = parser.parse_args()

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    overlay = yaml.safe_load((REPO / "tests" / "shared-data.yaml").read_text())
    for name in ("imdb", "gmb"):  # the overlay also has stubs for the presets' datasets
        values = overlay["datasets"][name]
        values["url"] = str(SHARED / Path(values["url"]).name)
        config["datasets"][name].update(values)
    config["datasets_to_run"] = ["imdb", "gmb"]
    config["datasets"]["imdb"]["grid"]["lengths"] = [120, 200]
    config["datasets"]["gmb"]["grid"]["lengths"] = [120, 200]
    for ds in config["datasets"].values():
        ds["grid"].pop("archs", None)  # the data stage only

    with tempfile.TemporaryDirectory(prefix="rnnbench-bench-") as tmp:
        workdir = Path(tmp)
        (workdir / "config.yaml").write_text(yaml.safe_dump(config))
        wall, peak, _ = timed_snakemake(workdir, ["--cores", str(args.cores), "prepare"])
        noop, _, _ = timed_snakemake(workdir, ["--cores", str(args.cores), "prepare"])
        cards = {
            name: {
                split: info["examples"]
                for split, info in json.loads(
                    (workdir / f"results/prepared/{name}/datacard.json").read_text()
                )["splits"].items()
            }
            for name in ("imdb", "gmb")
        }
    result = {
        "benchmark": "data stage (prepare) on real IMDB + GMB, lengths 120 and 200",
        "cores": args.cores,
        "wall_seconds": round(wall, 1),
        "peak_rss_gib": round(peak / 2**30, 2),
        "noop_rerun_seconds": round(noop, 1),
        "examples": cards,
        "targets": {"wall_seconds": 90, "peak_rss_gib": 4},
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "logical_cores": os.cpu_count(),
            "python": platform.python_version(),
        },
        "date": time.strftime("%Y-%m-%d"),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
