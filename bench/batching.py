"""Benchmark: training samples/s with hparams.batching "shuffled" vs "by_length" on CPU.

The quick preset's gmb_sample cells (NER on 8,000 real GMB sentences at length 48:
embedding 50, hidden 64, batch 32, Adam 3e-3, clipping 1.0) train lstm and bilstm on the
prepared arrays, their batches drawn as ``rnnbench train`` draws them
(train.batches.epoch_batches, seed 0, epoch 1) and each step the loop's own
(train.loop.batch_loss, clipping, Adam). The recurrent kernels run max(lengths in the
batch) steps, so batches of similar lengths do less work; the padded steps per row are
recorded next to the rate.

Timed windows of the two batchings alternate (shuffled, by_length, shuffled, ...), so a
change of machine load hits both alike; samples/s is the median over the windows.

    python bench/batching.py [--data results/prepared/gmb_sample/len48.npz] [--threads 2]

The arrays come from the workflow: ``snakemake --configfile presets/quick.yaml -c2
results/prepared/gmb_sample/len48.npz``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import torch
from torch import nn

from rnnbench.data.arrays import load_encoded
from rnnbench.models import build_model, native
from rnnbench.optimizers import build_optimizer
from rnnbench.train.batches import BUCKET_WINDOW, batches, epoch_batches, to_tensors
from rnnbench.train.checkpoint import file_sha256
from rnnbench.train.cpu import configure_cpu
from rnnbench.train.loop import Task, batch_loss

REPO = Path(__file__).resolve().parents[1]
BATCHINGS = ("shuffled", "by_length")
HPARAMS = {"embedding_dim": 50, "hidden": 64, "head_hidden": 0}  # presets/quick.yaml
BATCH, LR, CLIP, SEED = 32, 3e-3, 1.0, 0


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


class Trainer:
    """One model training on the epoch's batches of one batching, window by window."""

    def __init__(self, arch: str, batching: str, data, task: Task) -> None:
        torch.manual_seed(SEED)
        self.model = build_model(arch, task.meta, HPARAMS)
        self.model.train()
        self.optimizer = build_optimizer("adam", self.model.parameters(), {"lr": LR})
        self.task = task
        order, sizes = epoch_batches(data.lengths, BATCH, SEED, 1, batching)
        self.batches: Iterator = iter(batches(data, BATCH, order, sizes))
        host = data.lengths
        self.padded_steps = sum(int(host[g].max()) * len(g) for g in order.split(sizes))
        self.rows = len(order)

    def run(self, n: int) -> tuple[int, float]:
        """(rows, seconds) of the next ``n`` training steps."""
        rows, started = 0, time.perf_counter()
        for _ in range(n):
            x, lengths, y = next(self.batches)
            self.optimizer.zero_grad(set_to_none=True)
            batch_loss(self.task, self.model(x, lengths), y).backward()
            nn.utils.clip_grad_norm_(self.model.parameters(), CLIP)
            self.optimizer.step()
            rows += len(y)
        return rows, time.perf_counter() - started


def bench_arch(arch: str, data, task: Task, warmup: int, windows: int, steps: int) -> dict:
    trainers = {b: Trainer(arch, b, data, task) for b in BATCHINGS}
    for trainer in trainers.values():
        trainer.run(warmup)
    rates: dict[str, list[float]] = {b: [] for b in BATCHINGS}
    for _ in range(windows):
        for batching, trainer in trainers.items():
            rows, seconds = trainer.run(steps)
            rates[batching].append(rows / seconds)
    result: dict = {"arch": arch}
    for batching, trainer in trainers.items():
        result[batching] = {
            "samples_per_second": round(statistics.median(rates[batching]), 1),
            "spread": [round(min(rates[batching]), 1), round(max(rates[batching]), 1)],
            "padded_steps_per_row": round(trainer.padded_steps / trainer.rows, 2),
        }
    result["speedup"] = round(
        result["by_length"]["samples_per_second"] / result["shuffled"]["samples_per_second"], 2
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_data = REPO / "results" / "prepared" / "gmb_sample" / "len48.npz"
    parser.add_argument("--data", default=str(default_data))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--archs", nargs="*", default=["lstm", "bilstm"])
    parser.add_argument("--warmup", type=int, default=10, help="steps per batching, untimed")
    parser.add_argument("--windows", type=int, default=7)
    parser.add_argument("--steps", type=int, default=25, help="steps per timed window")
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "batching.json"))
    args = parser.parse_args()
    if args.warmup + args.windows * args.steps > 6400 // BATCH:
        parser.error("more steps than one epoch of gmb_sample's 6,400 training rows")
    configure_cpu(args.threads)
    load_before = load_average()
    dataset = load_encoded(args.data)
    data = to_tensors(dataset.splits["train"], torch.device("cpu"))
    task = Task.from_meta(dataset.meta)
    mean_length = float(data.lengths.float().mean())
    print(f"{args.data}: {len(data)} training rows, mean length {mean_length:.1f}", flush=True)
    results = []
    for arch in args.archs:
        row = bench_arch(arch, data, task, args.warmup, args.windows, args.steps)
        print(
            f"  {arch:>7}: shuffled {row['shuffled']['samples_per_second']:,.0f}, by_length "
            f"{row['by_length']['samples_per_second']:,.0f} samples/s (x{row['speedup']})",
            flush=True,
        )
        results.append(row)
    record = {
        "benchmark": "training samples/s, hparams.batching shuffled vs by_length (CPU)",
        "data": {
            "path": str(args.data),
            "sha256": file_sha256(args.data),
            "dataset": dataset.meta.dataset,
            "length": dataset.meta.length,
            "train_rows": len(data),
            "mean_row_length": round(mean_length, 2),
        },
        "setup": {
            **HPARAMS,
            "batch_size": BATCH,
            "optimizer": "adam",
            "lr": LR,
            "clip_norm": CLIP,
            "seed": SEED,
            "bucket_window": BUCKET_WINDOW,
            "warmup": args.warmup,
            "windows": args.windows,
            "steps_per_window": args.steps,
        },
        "threads": args.threads,
        "recurrent_kernels": native.describe(),
        "results": results,
        "machine": {
            "cpu": cpu_model(),
            "logical_cores": os.cpu_count(),
            "load_average_before": load_before,
            "load_average_after": load_average(),
            "python": platform.python_version(),
            "torch": torch.__version__,
        },
        "date": date.today().isoformat(),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
