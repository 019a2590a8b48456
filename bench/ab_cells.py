"""Train the same cells with two versions of the code and compare their metrics.json.

    python bench/ab_cells.py OLD_SRC NEW_SRC WORKDIR OUT_DIR 'SPEC_JSON' ... [--json FILE]

Each SPEC_JSON is a training spec as a rule passes it (``snakemake -n -p`` prints them);
its encoded data is WORKDIR/results/prepared/<dataset>/len<length>.npz (a finished data
stage). Each cell runs once with ``PYTHONPATH=OLD_SRC`` and once with ``NEW_SRC`` (one
thread each), and the two metrics.json must be equal apart from the keys that differ
between two runs of one spec (rnnbench.train.report.NONDETERMINISTIC_KEYS: timings,
memory, hardware). Prints one line per cell (and writes them to ``--json``, e.g.
bench/results/core_equality.json for bench/make_results.py); exits 1 on any difference.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from rnnbench.train.report import NONDETERMINISTIC_KEYS, cpu_model


def train(src: str, workdir: Path, spec: dict, out: Path) -> dict:
    data = workdir / f"results/prepared/{spec['dataset']}/len{spec['length']}.npz"
    env = {**os.environ, "PYTHONPATH": src}
    command = [sys.executable, "-m", "rnnbench", "train", "--data", str(data)]
    command += ["--out", str(out), "--spec", json.dumps(spec), "--threads", "1"]
    subprocess.run(command, env=env, check=True, capture_output=True)
    metrics = json.loads((out / "metrics.json").read_text())
    return {k: v for k, v in metrics.items() if k not in NONDETERMINISTIC_KEYS}


def main(old: str, new: str, workdir: str, out_dir: str, *specs: str) -> int:
    cells = []
    for i, text in enumerate(specs):
        spec = json.loads(text)
        a = train(old, Path(workdir), spec, Path(out_dir) / f"old{i}")
        b = train(new, Path(workdir), spec, Path(out_dir) / f"new{i}")
        keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        name = "/".join(str(spec[k]) for k in ("dataset", "arch", "optimizer", "length", "seed"))
        print(f"{name}: {'identical' if not keys else f'DIFFERENT in {keys}'}", flush=True)
        cells.append({"cell": name, "spec": spec, "differs": keys})
    if JSON_OUT:
        record = {"old": old, "new": new, "cpu": cpu_model(), "cells": cells}
        Path(JSON_OUT).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return 1 if any(c["differs"] for c in cells) else 0


JSON_OUT: str | None = None

if __name__ == "__main__":
    argv = sys.argv[1:]
    if "--json" in argv:
        at = argv.index("--json")
        JSON_OUT = argv[at + 1]
        del argv[at : at + 2]
    sys.exit(main(*argv))
