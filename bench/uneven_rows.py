"""Benchmark: one recurrence on each of its paths, full-length rows vs uneven rows.

Why the plan (models/plan.py) runs LSTMs on the compiled kernels although torch's oneDNN
LSTM is as fast on bench/train_throughput.py's full-length batches: torch's CPU modules
read packed sequences, and as soon as rows differ in length (real text) they fall back to
a per-step loop. Seed A's shape (vocab 10,000, embedding 16, hidden 32, length 120, batch
128, Dense(6) head, Adam, clipping 1.0), training steps on random ids; "uneven": 30% of
the rows shorter, at a uniform length in [12, 120).

    python bench/uneven_rows.py --threads 2   # writes bench/results/uneven_rows.json
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch
from paired import load_average, training_step, write_record  # bench/, first on sys.path
from torch import nn

from rnnbench.data.arrays import EncodedMeta
from rnnbench.models import build_model
from rnnbench.models.bodies import plan_model
from rnnbench.models.plan import Path as ExecPath
from rnnbench.train.cpu import configure_cpu

BENCH = Path(__file__).resolve().parent
LENGTH, BATCH, VOCAB = 120, 128, 10_000
HPARAMS = {"embedding_dim": 16, "hidden": 32, "head_hidden": 6}
# Each path forced, then None: as planned, per batch. (STEP_COMPILED is a GPU path.)
PATHS = (ExecPath.COMPILED, ExecPath.LIBRARY, ExecPath.REFERENCE, None)


def samples_per_second(model: nn.Module, batch: tuple, windows: int, steps: int) -> float:
    step = training_step(model, *batch)
    for _ in range(2):
        step()
    rates = []
    for _ in range(windows):
        started = time.perf_counter()
        for _ in range(steps):
            step()
        rates.append(BATCH * steps / (time.perf_counter() - started))
    return statistics.median(rates)


def measure(archs: list[str], windows: int = 3, steps: int = 5) -> list[dict]:
    generator = torch.Generator().manual_seed(0)
    x = torch.randint(2, VOCAB, (BATCH, LENGTH), generator=generator)
    y = torch.randint(0, 2, (BATCH,), generator=generator).float()
    shorter = torch.rand(BATCH, generator=generator) < 0.3
    uneven = torch.where(shorter, torch.randint(12, LENGTH, (BATCH,), generator=generator), LENGTH)
    meta = EncodedMeta("bench", "sentiment", LENGTH, "post", "post", VOCAB, 2)
    rows = []
    for arch in archs:
        for rows_kind, lengths in (("full", torch.full((BATCH,), LENGTH)), ("uneven", uneven)):
            row = {"arch": arch, "rows": rows_kind}
            for path in PATHS:
                torch.manual_seed(0)
                model = build_model(arch, meta, HPARAMS)
                plan_model(model, torch.device("cpu"), path)
                rate = samples_per_second(model, (x, lengths, y), windows, steps)
                row[str(path or "planned")] = round(rate, 1)
            # What the planned model ran this batch on (models/plan.py, per batch).
            row["planned_path"] = model.body.recurrence.plan_for_batch(lengths).label
            rows.append(row)
            print(f"  {arch:>6} {rows_kind:>6}: " + ", ".join(
                f"{p} {row[p]:,.0f}" for p in (*map(str, PATHS[:-1]), "planned")
            ) + f" samples/s; planned: {row['planned_path']}", flush=True)  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--archs", nargs="*", default=["lstm", "bilstm", "gru"])
    parser.add_argument("--out", type=Path, default=BENCH / "results" / "uneven_rows.json")
    args = parser.parse_args()
    configure_cpu(args.threads)  # the threads and allocator settings a training job runs
    load = load_average()
    results = measure(args.archs)
    write_record(
        args.out,
        "training samples/s per execution path, full-length vs uneven rows",
        args.threads,
        results,
        load,
        setup={"length": LENGTH, "batch": BATCH, "vocab": VOCAB, **HPARAMS},
    )


if __name__ == "__main__":
    main()
