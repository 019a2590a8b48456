"""Benchmark: wall time of the main job and of every preset, end to end, on this machine.

Why: the README, each preset's comment and bench/RESULTS.md quote how long a run takes;
these figures must come from one measurement, taken the same way for every preset, with
the CPU model beside it (speed ratios differ between Intel and AMD machines).

Each preset runs from a fresh working directory (a snapshot of the workflow and src/, as
bench/workflow_scale.py makes it), data stage included, with ``snakemake --cores N``:

- ``quick`` (the main job) reads the samples in data/samples/, copied into the workdir;
- the other presets read the full corpora through tests/shared-data.yaml, its local
  sources made absolute (they need ../shared/data).

Measure on a quiet machine: the load average at the start is recorded with each run.
Results are merged into ``--out`` (JSON, one entry per preset, the latest measurement
wins), which bench/make_results.py renders into bench/RESULTS.md.

    python bench/main_job.py                         # the main job only
    python bench/main_job.py --preset quick kovac2023 kobylin2024
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml
from workflow_scale import (  # bench/, first on sys.path for a script
    REPO,
    log,
    machine_info,
    run_to_completion,
    shared_data_overlay,
    snapshot_workflow,
    train_cell_jobs,
    train_job_seconds,
)

DEFAULT_OUT = REPO / "bench" / "results" / "main_job.json"
MAIN_JOB = "quick"
MAIN_JOB_TARGET_SECONDS = 8 * 60


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo), the figure every timing is quoted beside."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def bench_preset(name: str, cores: int, parent: Path | None, keep: bool) -> dict[str, Any]:
    """One preset end to end from an empty working directory."""
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-{name}-", dir=parent))
    try:
        snapshot_workflow(workdir)
        (workdir / "presets").mkdir()
        shutil.copy(REPO / "presets" / f"{name}.yaml", workdir / "presets" / f"{name}.yaml")
        configs = ["--configfile", f"presets/{name}.yaml"]
        if name == MAIN_JOB:
            shutil.copytree(REPO / "data", workdir / "data")
        else:
            (workdir / "shared-data.yaml").write_text(yaml.safe_dump(shared_data_overlay()))
            configs.append("shared-data.yaml")
        load = [round(x, 2) for x in os.getloadavg()]
        log(f"{name}: snakemake --cores {cores} in {workdir} (load {load})")
        run, planned, _ = run_to_completion(workdir, ["--cores", str(cores), *configs], name, 60)
        return {
            "preset": name,
            "cores": cores,
            "wall_seconds": round(run.seconds, 1),
            "jobs": planned,
            "train_cells": train_cell_jobs(planned),
            "train_job_seconds_sum": round(train_job_seconds(workdir), 1),
            # learning-rate tuning (grid.tune): its trial jobs and their summed job time
            "tune_trials": planned.get("tune_trial", 0),
            "tune_job_seconds_sum": round(train_job_seconds(workdir, "tune"), 1),
            "cpu_model": cpu_model(),
            "load_average_at_start": load,
            "date": datetime.date.today().isoformat(),
            "commit": machine_info()["commit"],
        }
    finally:
        if keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", nargs="+", default=[MAIN_JOB], help="preset names")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--workdir-parent", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the working directories")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    result = json.loads(args.out.read_text()) if args.out.exists() else {"presets": {}}
    result["main_job"] = MAIN_JOB
    result["main_job_target_seconds"] = MAIN_JOB_TARGET_SECONDS
    for name in args.preset:
        result["presets"][name] = bench_preset(name, args.cores, args.workdir_parent, args.keep)
        result.get("pending", {}).pop(name, None)  # measured now: its estimate goes
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
