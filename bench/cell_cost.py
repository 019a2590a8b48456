"""Benchmark: the cost of an experiment, from a few measured cells, on this machine.

Why: a grid too long to run end to end on a shared machine (the default experiment, a
full-corpus preset) still needs an honest cost in the README: its number of jobs, the
measured cost of a representative cell of each kind, and the total they imply.

How:

1. ``snakemake -n -p --forceall`` lists every training job (``train`` and ``tune_trial``)
   of the configs given, each with its spec, exactly as the workflow would run it.
2. Jobs whose work per epoch is the same (same dataset, architecture, length and model /
   batch hparams; the optimizer, lr, seed and early stopping do not change the work of
   an epoch) form one *kind*. One job of each kind (or the kinds named by ``--only``)
   is trained for ``--epochs`` epochs (early stopping off), one thread, on the prepared
   data (built first by snakemake: the data stage is timed separately).
3. From metrics.json: ``startup`` (process start to training start), ``fixed`` (data
   load, model build, the test evaluation) and ``per_epoch`` (train + validation); a
   job of the kind with ``E`` configured epochs costs ``startup + fixed + E x
   per_epoch`` at most (early stopping can only shorten it).
4. Wall times on a loaded machine overstate the cost: each measurement also records the
   job's CPU time (one thread, so CPU time ~= the wall time on a quiet machine) and the
   load average. The estimates use the CPU-time-scaled figure: wall x (CPU / wall).
5. The grid total on ``--cores`` cores: the sum over jobs / cores (jobs run side by side
   at one thread each), plus the data stage's measured wall time.

    python bench/cell_cost.py --name default --configs config.yaml tests/shared-data.yaml
    python bench/cell_cost.py --name karanik --configs presets/karanik.yaml \
        tests/shared-data.yaml --epochs 1

``--reuse NAME`` takes the measurement of every kind already measured under NAME (the
same kind: same dataset, arch, length and per-epoch hparams) instead of measuring again,
and NAME's data stage time when this run's is shorter (its data was already prepared).

Results are merged into ``--out`` (JSON, one entry per ``--name``), which
bench/make_results.py renders into bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "bench" / "results" / "cell_cost.json"
TRAIN_RULES = ("train", "tune_trial")
# Hparams that do not change the work of one epoch.
PER_EPOCH_NEUTRAL = ("lr", "weight_decay", "momentum", "epochs", "patience")


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def snakemake(args: list[str], configs: list[str]) -> str:
    command = ["snakemake", *args, "--configfile", *configs]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    if result.returncode:
        sys.exit(f"{shlex.join(command)} failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    return result.stdout + result.stderr


def training_jobs(configs: list[str]) -> list[dict[str, Any]]:
    """Every training job of the configs' full run: its rule, data file and spec."""
    output = snakemake(["-n", "-p", "--forceall"], configs)
    jobs = []
    for line in output.splitlines():
        line = line.strip().removeprefix("Shell command: ")
        if not line.startswith("rnnbench train "):
            continue
        words = shlex.split(line.split(" > ")[0])
        options = dict(zip(words[2::2], words[3::2], strict=False))
        spec = json.loads(options["--spec"])
        rule = "tune_trial" if "/tune/" in options["--out"] else "train"
        jobs.append({"rule": rule, "data": options["--data"], "spec": spec})
    if not jobs:
        sys.exit("no training job in the plan (are the configs right?)")
    return jobs


def kind_of(spec: dict[str, Any]) -> str:
    """The per-epoch work of a job: dataset, arch, length and every hparam but lr etc."""
    hparams = {k: v for k, v in spec["hparams"].items() if k not in PER_EPOCH_NEUTRAL}
    return json.dumps(
        {k: spec[k] for k in ("dataset", "arch", "length")} | {"hparams": hparams},
        sort_keys=True,
    )


def label(kind: str) -> str:
    k = json.loads(kind)
    hp = k["hparams"]
    extra = " ".join(
        f"{key} {hp[key]}"
        for key in ("embedding_dim", "layers", "hidden", "batch_size", "train_subsample")
        if key in hp
    )
    return f"{k['dataset']}/{k['arch']}/len{k['length']} ({extra})"


def measure(job: dict[str, Any], epochs: int) -> dict[str, Any]:
    """Train the job's spec for ``epochs`` epochs (no early stopping), one thread."""
    spec = json.loads(json.dumps(job["spec"]))
    configured = int(spec["hparams"].get("epochs") or 10)
    spec["hparams"]["epochs"] = min(epochs, configured) if epochs else configured
    spec["hparams"]["patience"] = None
    if isinstance(spec["hparams"].get("lr"), dict):  # a tuned lr: any value costs the same
        spec["hparams"]["lr"] = None
    with tempfile.TemporaryDirectory(prefix="cell-cost-") as out:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        load = os.getloadavg()
        started = time.perf_counter()
        command = [
            "rnnbench",
            "train",
            "--data",
            job["data"],
            "--out",
            out,
            "--spec",
            json.dumps(spec),
            "--threads",
            "1",
        ]
        subprocess.run(command, cwd=REPO, check=True, capture_output=True)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        metrics = json.loads((Path(out) / "metrics.json").read_text())
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    per_epoch = float(metrics["seconds_per_epoch"])
    fixed = float(metrics["total_seconds"]) - per_epoch * int(metrics["epochs_run"])
    return {
        "epochs_measured": int(metrics["epochs_run"]),
        "wall_seconds": round(wall, 2),
        "cpu_seconds": round(cpu, 2),
        "load_at_start": [round(v, 2) for v in load],
        "startup_seconds": round(wall - float(metrics["total_seconds"]), 2),
        "fixed_seconds": round(fixed, 2),
        "per_epoch_seconds": round(per_epoch, 2),
        "exec_path": metrics["hardware"].get("exec_path"),
        "examples": metrics.get("examples"),
    }


def job_cost(measured: dict[str, Any], epochs: int) -> tuple[float, float]:
    """(wall as measured, CPU-time-scaled) estimate of one job of ``epochs`` epochs."""
    wall = measured["startup_seconds"] + measured["fixed_seconds"]
    wall += measured["per_epoch_seconds"] * epochs
    return wall, wall * min(1.0, measured["cpu_seconds"] / measured["wall_seconds"])


def data_stage(jobs: list[dict[str, Any]], configs: list[str], cores: int) -> float:
    """Build every prepared array the jobs read; return the wall time it took."""
    targets = sorted({job["data"] for job in jobs})
    started = time.perf_counter()
    snakemake(["--cores", str(cores), *targets], configs)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--name", required=True, help="the experiment's name in the results")
    parser.add_argument("--configs", nargs="+", required=True, help="--configfile overlays")
    parser.add_argument("--epochs", type=int, default=1, help="epochs per measurement (0: all)")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--only", nargs="*", default=None, help="measure only kinds matching")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--reuse", nargs="*", default=[], help="entries of --out whose measured kinds are reused"
    )
    parser.add_argument(
        "--skip-data-stage",
        action="store_true",
        help="do not build the data (every kind reused; the data stage time is --reuse's)",
    )
    args = parser.parse_args()
    store = json.loads(args.out.read_text()) if args.out.exists() else {}
    known = {
        row["kind"]: row["measured"]
        for name in args.reuse
        for row in store.get(name, {}).get("kinds", [])
    }

    jobs = training_jobs(args.configs)
    kinds: dict[str, list[dict[str, Any]]] = {}
    for job in jobs:
        kinds.setdefault(kind_of(job["spec"]), []).append(job)
    print(f"{len(jobs)} training jobs, {len(kinds)} kinds", flush=True)
    prepared = 0.0 if args.skip_data_stage else data_stage(jobs, args.configs, args.cores)
    # Data prepared by a reused measurement's run: its data stage time, not this no-op's.
    prepared = max([prepared, *(store.get(n, {}).get("data_stage_seconds", 0) for n in args.reuse)])
    print(f"data stage: {prepared:.0f} s", flush=True)
    rows, total_wall, total_cpu = [], 0.0, 0.0
    for kind, members in kinds.items():
        if args.only is not None and not any(re.search(p, label(kind)) for p in args.only):
            continue
        measured = known.get(label(kind)) or measure(members[0], args.epochs)
        costs = [job_cost(measured, int(j["spec"]["hparams"].get("epochs") or 10)) for j in members]
        wall, cpu = sum(c[0] for c in costs), sum(c[1] for c in costs)
        total_wall, total_cpu = total_wall + wall, total_cpu + cpu
        rows.append(
            {
                "kind": label(kind),
                "jobs": len(members),
                "measured": measured,
                "job_seconds": round(costs[0][1], 1),
                "jobs_seconds": round(cpu, 1),
            }
        )
        print(f"{label(kind)}: {len(members)} jobs x {costs[0][1]:.1f} s", flush=True)
    complete = args.only is None
    result = {
        "configs": args.configs,
        "jobs": len(jobs),
        "train_jobs": sum(j["rule"] == "train" for j in jobs),
        "tune_trials": sum(j["rule"] == "tune_trial" for j in jobs),
        "kinds": rows,
        "data_stage_seconds": round(prepared, 1),
        "all_kinds_measured": complete,
        "jobs_seconds_summed": round(total_cpu, 1),
        "estimated_total_seconds": round(total_cpu / args.cores + prepared, 1)
        if complete
        else None,
        "cores": args.cores,
        "epochs_per_measurement": args.epochs,
        "cpu_model": cpu_model(),
        "date": datetime.date.today().isoformat(),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip(),
        "note": "machine shared with other work: see each measurement's load",
    }
    store = json.loads(args.out.read_text()) if args.out.exists() else {}  # others may have written
    store[args.name] = result
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(store, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "kinds"}, indent=1))


if __name__ == "__main__":
    main()
