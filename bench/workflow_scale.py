"""Benchmark: how the workflow itself scales (issue 6), apart from the cost of training.

Why: every training cell is one Snakemake job, so a large grid could spend its time in
Snakemake rather than in torch: building the DAG (every cell's spec is resolved and
validated at parse time), checking hundreds of outputs on a rerun that has nothing to do,
and starting one process per job. Training throughput (bench/train_throughput.py) cannot
show this; this script measures the workflow around it.

(a) Grid scale, on the synthetic ``memory`` task (no downloads), with >= ``--cells``
    training cells (default 500: architectures x optimizers x lengths x seeds), each cell
    tiny (64 samples, 1 epoch, length <= 8), in a fresh working directory:
      1. ``snakemake -n`` before anything is built: the DAG build time;
      2. the one-time fill, ``snakemake --cores N`` (one process per job, as usual);
      3. ``snakemake --cores N`` again, which must say "Nothing to be done": the no-op
         rerun time (median of ``--repeats``). Target: <= 10 s.
    Snakemake's slurm executor plugin runs ``scontrol show config`` when it is imported,
    that is in every ``snakemake`` call, even a local one; with slurm's client installed
    but no controller up it waits for the controller, so the fixed start-up cost, and the
    same dry and no-op runs with a stub ``scontrol`` first on PATH, are recorded too, to
    tell that start-up apart from the workflow's own cost.
(b) End to end: the ``quick`` preset (the main job, on the samples in data/samples/) at
    ``--cores N`` with 1 and with 2 threads per training job (``--config threads=T``),
    each from a fresh working directory (data preparation and every cell run each time).

Each working directory (under ``--workdir-parent``, default the system temp dir) holds a
snapshot of the workflow and of src/, the training rule's code inputs, so that edits to
the repository while the benchmark runs cannot rerun cells; the jobs run the installed
``rnnbench``. tests/shared-data.yaml is copied with its local sources made absolute.

Benchmarks are not tests: nothing here is asserted in the test suite. Progress goes to
stdout; the results to ``--out`` (JSON, written after each part).

    python bench/workflow_scale.py [--cells 500] [--cores 2] [--repeats 3]
        [--skip-grid] [--skip-quick] [--out bench/results/workflow_scale.json]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime
import itertools
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from rnnbench.config import memory_grid_config
from rnnbench.report_check import TRAIN_RULES

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "bench" / "results" / "workflow_scale.json"
NOOP_TARGET_SECONDS = 10.0
NOTHING_TO_DO = "Nothing to be done"

# Pools the grid is drawn from, in order: the recurrent models (flatten and cnn are left
# out: cnn's default kernel, 5, is longer than length 4), every optimizer, and lengths
# short enough that one epoch on 64 samples takes well under a second.
ARCHS = [
    "rnn",
    "gru",
    "lstm",
    "rnn_cell",
    "gru_cell",
    "lstm_cell",
    "birnn",
    "bigru",
    "bilstm",
    "lstm_peephole",
    "lstm_cifg",
]
OPTIMIZERS = ["adam", "sgd", "rmsprop", "adamw", "nag", "adadelta"]
LENGTHS = [4, 6, 8]
TINY_SAMPLES = {"train": 64, "validation": 16, "test": 16}
TINY_HPARAMS = {"epochs": 1, "batch_size": 16, "hidden": 4, "head_hidden": 0}

STEPS_RE = re.compile(r"(\d+) of (\d+) steps \((\d+)%\) done")


def log(message: str) -> None:
    """A progress line with the wall-clock time."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- running snakemake ------------------------------------------------------------------


@dataclass
class Run:
    """One finished ``snakemake`` call: wall time, exit status and its whole output."""

    seconds: float
    returncode: int
    output: str


def snapshot_workflow(dest: Path) -> None:
    """Copy the workflow (Snakefile, rules, schemas, report captions) and src/ into ``dest``.

    The package sources are the training rule's inputs (``workflow.basedir``/src), so a
    snapshot keeps an edit to the repository during the benchmark from rerunning cells;
    the jobs still run the installed ``rnnbench``.
    """
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "report.html")
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "Snakefile", dest / "Snakefile")
    shutil.copy(REPO / "config.yaml", dest / "config.yaml")
    for folder in ("workflow", "envs", "reports", "src"):
        shutil.copytree(REPO / folder, dest / folder, ignore=ignore, dirs_exist_ok=True)


def subprocess_env(extra_path: Path | None = None) -> dict[str, str]:
    """This interpreter's bin first on PATH (jobs call ``rnnbench``), optionally a stub dir."""
    env = dict(os.environ)
    dirs = [str(Path(sys.executable).parent), env.get("PATH", "")]
    if extra_path is not None:
        dirs.insert(0, str(extra_path))
    env["PATH"] = os.pathsep.join(dirs)
    return env


def run_snakemake(
    workdir: Path,
    args: list[str],
    *,
    label: str,
    env: dict[str, str] | None = None,
    progress_every: float = 0.0,
) -> Run:
    """Time ``snakemake -s workdir/Snakefile -d workdir ARGS``, run from ``workdir``.

    The output goes to a file, not a pipe (nobody reads it while it runs). With
    ``progress_every`` > 0, the latest "N of M steps" line is printed at that interval.
    Exits with the output's tail if snakemake fails.
    """
    snakefile = workdir / "Snakefile"
    cmd = [sys.executable, "-m", "snakemake", "-s", str(snakefile), "-d", str(workdir), *args]
    logs = workdir / "bench-logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"{label}.log"
    started = time.perf_counter()
    with open(log_path, "w") as sink:
        proc = subprocess.Popen(
            cmd, cwd=workdir, stdout=sink, stderr=subprocess.STDOUT, env=env or subprocess_env()
        )
        last_report, last_line = started, ""
        while proc.poll() is None:
            time.sleep(0.05)
            now = time.perf_counter()
            if progress_every > 0 and now - last_report >= progress_every:
                last_report = now
                steps = STEPS_RE.findall(log_path.read_text(errors="replace"))
                line = f"{steps[-1][0]}/{steps[-1][1]} jobs done" if steps else "starting"
                if line != last_line:
                    log(f"  {label}: {line} after {now - started:.0f} s")
                    last_line = line
    seconds = time.perf_counter() - started
    output = log_path.read_text(errors="replace")
    if proc.returncode != 0:
        sys.exit(f"snakemake {' '.join(args)} failed ({proc.returncode}):\n{output[-4000:]}")
    return Run(seconds, proc.returncode, output)


def run_to_completion(
    workdir: Path, args: list[str], name: str, progress_every: float
) -> tuple[Run, dict[str, int], tuple[int, int]]:
    """A real run that must finish every planned job: ``(run, job stats, (done, total))``."""
    label = re.sub(r"[^A-Za-z0-9_.-]+", "-", name)
    run = run_snakemake(workdir, args, label=label, progress_every=progress_every)
    planned, done = job_stats(run.output), steps_done(run.output)
    log(f"{name}: {run.seconds:.1f} s, {planned.get('total')} jobs")
    if done is None or done[0] != done[1]:
        sys.exit(f"the {name} run stopped at {done} steps")
    return run, planned, done


def job_stats(output: str) -> dict[str, int]:
    """Snakemake's first "Job stats" table as ``{rule: count, ..., "total": N}``."""
    lines = output.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == "Job stats:")
    except StopIteration:
        return {}
    counts: dict[str, int] = {}
    for line in lines[start + 3 :]:  # skip the header and its dashes
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            break
        counts[parts[0]] = int(parts[1])
    return counts


def steps_done(output: str) -> tuple[int, int] | None:
    """The last "N of M steps (P%) done" of a real run, as ``(N, M)``."""
    found = STEPS_RE.findall(output)
    return (int(found[-1][0]), int(found[-1][1])) if found else None


def train_cell_jobs(planned: dict[str, int]) -> int:
    """How many grid cells a plan trains: every variant of the train rule (training-set
    sizes, folds), as the report check counts them; tune_trial trains too but is tuning."""
    return sum(planned.get(rule, 0) for rule in TRAIN_RULES)


def train_job_seconds(workdir: Path, rule: str = "train") -> float:
    """Sum of the ``s`` column of every ``rule`` job's Snakemake benchmark file."""
    total = 0.0
    for tsv in (workdir / "benchmarks" / rule).rglob("*.tsv"):
        with open(tsv, newline="") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                total += float(row["s"])
    return total


def snakemake_startup(env: dict[str, str]) -> float:
    """Wall time of ``snakemake --version``: interpreter start and the plugin imports."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "snakemake", "--version"], env=env, capture_output=True, check=True
    )
    return time.perf_counter() - started


def scontrol_probe() -> dict[str, Any]:
    """Time the slurm plugin's import-time ``scontrol show config`` (None: not installed)."""
    path = shutil.which("scontrol")
    if path is None:
        return {"scontrol": None, "seconds": None}
    started = time.perf_counter()
    done = subprocess.run(
        ["scontrol", "show", "config"], capture_output=True, text=True, timeout=60, check=False
    )
    return {
        "scontrol": path,
        "seconds": round(time.perf_counter() - started, 2),
        "returncode": done.returncode,
        "stderr": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "",
    }


@contextlib.contextmanager
def stub_scontrol() -> Iterator[dict[str, str]]:
    """An environment whose ``scontrol`` fails at once, as where slurm is not installed."""
    with tempfile.TemporaryDirectory(prefix="rnnbench-stub-") as tmp:
        stub = Path(tmp) / "scontrol"
        stub.write_text("#!/bin/sh\nexit 1\n")
        stub.chmod(0o755)
        yield subprocess_env(Path(tmp))


def rounded_median(values: list[float]) -> dict[str, Any]:
    return {
        "median": round(statistics.median(values), 2),
        "runs": [round(v, 2) for v in values],
    }


# --- (a) the grid ----------------------------------------------------------------------


def choose_grid(cells: int) -> dict[str, list]:
    """The smallest archs x optimizers x lengths x seeds grid with at least ``cells`` cells.

    Among equally small grids, the one with the fewest seeds (the most varied cells),
    then the most architectures. 500 gives exactly 10 archs x 5 optimizers x 2 lengths x
    5 seeds.
    """
    best: tuple[tuple[int, int, int], tuple[int, int, int, int]] | None = None
    for a, o, n_len in itertools.product(
        range(1, len(ARCHS) + 1), range(1, len(OPTIMIZERS) + 1), range(1, len(LENGTHS) + 1)
    ):
        seeds = max(1, math.ceil(cells / (a * o * n_len)))
        key = (a * o * n_len * seeds, seeds, -a)
        if best is None or key < best[0]:
            best = (key, (a, o, n_len, seeds))
    assert best is not None
    a, o, n_len, seeds = best[1]
    return {
        "archs": ARCHS[:a],
        "optimizers": OPTIMIZERS[:o],
        "lengths": LENGTHS[:n_len],
        "seeds": list(range(seeds)),
    }


def grid_config(grid: dict[str, list]) -> dict[str, Any]:
    """A config.yaml with one tiny memory-task dataset, ``mem``, training ``grid``."""
    return memory_grid_config(grid, TINY_SAMPLES, TINY_HPARAMS)


def bench_grid(cells: int, cores: int, repeats: int, workdir: Path) -> dict[str, Any]:
    """DAG build, one-time fill and no-op rerun times for a grid of >= ``cells`` cells."""
    grid = choose_grid(cells)
    n_cells = math.prod(len(values) for values in grid.values())
    log(
        f"grid: {len(grid['archs'])} archs x {len(grid['optimizers'])} optimizers x "
        f"{len(grid['lengths'])} lengths x {len(grid['seeds'])} seeds = {n_cells} cells "
        f"in {workdir}"
    )
    snapshot_workflow(workdir)
    (workdir / "config.yaml").write_text(yaml.safe_dump(grid_config(grid)), encoding="utf-8")
    cores_args = ["--cores", str(cores)]

    with stub_scontrol() as stub_env:
        dry, dry_stub = [], []
        for i in range(repeats):
            run = run_snakemake(workdir, ["-n"], label=f"dry-{i + 1}")
            dry.append(run.seconds)
            log(f"dry run {i + 1}/{repeats} (DAG build): {run.seconds:.2f} s")
            run_stub = run_snakemake(workdir, ["-n"], label=f"dry-stub-{i + 1}", env=stub_env)
            dry_stub.append(run_stub.seconds)
            log(f"dry run {i + 1}/{repeats}, stub scontrol: {run_stub.seconds:.2f} s")
        planned = job_stats(run.output)
        if planned.get("train") != n_cells:
            sys.exit(f"expected {n_cells} train jobs in the dry run, got {planned}")
        log(f"planned: {planned.get('total')} jobs, {planned.get('train')} train cells")

        log(f"fill: snakemake --cores {cores} ({planned.get('total')} jobs, one process each)")
        fill = run_snakemake(workdir, cores_args, label="fill", progress_every=30)
        done = steps_done(fill.output)
        log(f"fill: {fill.seconds:.1f} s, {done[0] if done else '?'} jobs run")
        if done is None or done[0] != done[1] or done[1] != planned.get("total"):
            sys.exit(f"the fill ran {done} steps, the dry run planned {planned.get('total')}")
        train_seconds = train_job_seconds(workdir)

        noop, noop_stub = [], []
        for i in range(repeats):
            for env, times, tag in ((None, noop, ""), (stub_env, noop_stub, "-stub")):
                run = run_snakemake(workdir, cores_args, label=f"noop{tag}-{i + 1}", env=env)
                if NOTHING_TO_DO not in run.output:
                    sys.exit(f"the rerun was not a no-op:\n{run.output[-4000:]}")
                times.append(run.seconds)
                what = ", stub scontrol" if tag else ""
                log(f"no-op rerun {i + 1}/{repeats}{what}: {run.seconds:.2f} s")

        startup = snakemake_startup(subprocess_env())
        startup_stub = snakemake_startup(stub_env)
    log(f"snakemake --version: {startup:.2f} s ({startup_stub:.2f} s with the stub)")

    noop_median = statistics.median(noop)
    return {
        "description": (
            "synthetic memory task, tiny cells (64/16/16 samples, 1 epoch, hidden 4): "
            "DAG build (snakemake -n before anything exists), the one-time fill, and a "
            "no-op rerun (snakemake --cores N, 'Nothing to be done')"
        ),
        "cores": cores,
        "repeats": repeats,
        "grid": grid,
        "cells": n_cells,
        "planned_jobs": planned,
        "dag_build_seconds": rounded_median(dry),
        "fill": {
            "wall_seconds": round(fill.seconds, 1),
            "jobs_run": done[0],
            "train_job_seconds_sum": round(train_seconds, 1),
            "wall_seconds_per_train_cell": round(fill.seconds / n_cells, 3),
        },
        "noop_rerun_seconds": rounded_median(noop),
        "noop_target_seconds": NOOP_TARGET_SECONDS,
        "noop_target_met": noop_median <= NOOP_TARGET_SECONDS,
        "snakemake_startup_seconds": round(startup, 2),
        "without_scontrol_probe": {
            "note": (
                "the same runs with a stub scontrol (exit 1) first on PATH, as on a "
                "machine without slurm's client: the workflow's own cost"
            ),
            "dag_build_seconds": rounded_median(dry_stub),
            "noop_rerun_seconds": rounded_median(noop_stub),
            "snakemake_startup_seconds": round(startup_stub, 2),
        },
    }


# --- (b) the quick preset --------------------------------------------------------------


def shared_data_overlay() -> dict[str, Any]:
    """tests/shared-data.yaml with its repo-relative local sources made absolute."""
    overlay = yaml.safe_load((REPO / "tests" / "shared-data.yaml").read_text())
    for values in overlay["datasets"].values():
        url = values.get("url")
        if url and "://" not in url and not Path(url).is_absolute():
            values["url"] = str((REPO / url).resolve())
    return overlay


def bench_quick(threads: int, cores: int, parent: Path | None, keep: bool) -> dict[str, Any]:
    """The quick preset end to end, from an empty working directory, at ``threads``."""
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-quick-t{threads}-", dir=parent))
    try:
        snapshot_workflow(workdir)
        (workdir / "presets").mkdir()
        shutil.copy(REPO / "presets" / "quick.yaml", workdir / "presets" / "quick.yaml")
        shutil.copytree(REPO / "data", workdir / "data")  # the main job's shipped samples
        configs = ["--configfile", "presets/quick.yaml", "--config", f"threads={threads}"]
        log(f"quick, threads={threads}: snakemake --cores {cores} in {workdir}")
        run, planned, done = run_to_completion(
            workdir, ["--cores", str(cores), *configs], f"quick, threads={threads}", 30
        )
        return {
            "threads": threads,
            "cores": cores,
            "wall_seconds": round(run.seconds, 1),
            "jobs": planned,
            "jobs_run": done[0],
            "train_cells": train_cell_jobs(planned),
            "train_job_seconds_sum": round(train_job_seconds(workdir), 1),
        }
    finally:
        if keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


# --- main ------------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "cpu": platform.processor() or platform.machine(),
        "logical_cores": os.cpu_count(),
        "python": platform.python_version(),
        "snakemake": metadata.version("snakemake"),
        "snakemake_executor_plugin_slurm": metadata.version("snakemake-executor-plugin-slurm"),
        "torch": metadata.version("torch"),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "commit": commit or None,
    }


def write(result: dict[str, Any], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=500, help="at least this many cells")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="dry and no-op runs each")
    parser.add_argument("--skip-grid", action="store_true", help="skip part (a)")
    parser.add_argument("--skip-quick", action="store_true", help="skip part (b)")
    parser.add_argument(
        "--threads", type=int, nargs="+", default=[1, 2], help="part (b): threads per job"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--workdir-parent",
        type=Path,
        default=None,
        help="where the temporary working directories go (default: the system temp dir)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the working directories")
    args = parser.parse_args()
    if args.cells < 1 or args.repeats < 1:
        parser.error("--cells and --repeats must be >= 1")

    log("timing `scontrol show config` (the slurm plugin runs it in every snakemake call)")
    result: dict[str, Any] = {
        "benchmark": "workflow scale (issue 6): DAG build, no-op rerun, quick preset",
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": " ".join(["python", "bench/workflow_scale.py", *sys.argv[1:]]),
        "machine": machine_info(),
        "scontrol_probe": scontrol_probe(),
    }
    log(f"machine: {result['machine']}")
    log(f"scontrol show config: {result['scontrol_probe']}")
    write(result, args.out)

    if not args.skip_grid:
        workdir = Path(tempfile.mkdtemp(prefix="bench-grid-", dir=args.workdir_parent))
        try:
            result["grid"] = bench_grid(args.cells, args.cores, args.repeats, workdir)
        finally:
            if args.keep:
                log(f"kept {workdir}")
            else:
                shutil.rmtree(workdir, ignore_errors=True)
        write(result, args.out)

    if not args.skip_quick:
        result["quick"] = []
        for threads in args.threads:
            result["quick"].append(bench_quick(threads, args.cores, args.workdir_parent, args.keep))
            write(result, args.out)
        walls = {run["threads"]: run["wall_seconds"] for run in result["quick"]}
        if 1 in walls and 2 in walls:
            result["quick_speedup_threads2_vs_threads1"] = round(walls[1] / walls[2], 2)
            write(result, args.out)

    log(f"wrote {args.out}")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
