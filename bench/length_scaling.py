"""Benchmark: how a training step's time grows with the sequence length (memory task).

Seed B's memory task (rnnbench.data.synthetic: N(0, 1) scalars, the sign at index 5 to
recall at the end) with presets/modern.yaml's memory-grid model: scalar input (no
embedding), hidden 64, one layer, no hidden head layer (one logit), Keras' initialisers;
the transformer with 4 heads and feed-forward width 256, sinusoidal positions, mean
pooling. Each model is built by ``build_model`` from the same keys as a training job,
and trains as ``rnnbench train`` does: BCE on one logit, Adam (lr 1e-3), gradient
clipping 1.0 for the registry's recurrent architectures (not the transformer).

For each architecture and length it times the training step (forward + backward +
clipping + Adam step) on one fixed full-length batch (batch 32, as the preset): warm-up
steps, then ``--windows`` timed windows of as many steps as fill ``--window-seconds``
(at least one); a cell whose step takes over ``--long-step`` seconds gets at most 3
windows. ms per batch is the median over windows of (window time / steps); samples/s is
batch / that.

    python bench/length_scaling.py [--threads 2] [--archs lstm bilstm transformer mingru]
        [--lengths 50 100 200 500 1000] [--batch 32] [--out bench/results/length_scaling.json]

Writes the JSON (CPU model, torch version, threads, date, load averages, each model's
execution path) and prints the markdown table bench/make_results.py renders from it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from rnnbench import registry
from rnnbench.data.arrays import EncodedMeta
from rnnbench.data.synthetic import generate_memory_split
from rnnbench.experiment.spec import RECURRENT_CLIP_NORM
from rnnbench.models import build_model, native
from rnnbench.models.bodies import execution_path
from rnnbench.names import EXEC_NO_RECURRENCE
from rnnbench.optimizers import build_optimizer
from rnnbench.train.cpu import configure_cpu
from rnnbench.train.report import cpu_model

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_results import length_scaling_table

REPO = Path(__file__).resolve().parents[1]
DEFAULT_ARCHS = ("rnn", "lstm", "bilstm", "mingru", "minlstm", "transformer")
DEFAULT_LENGTHS = (50, 100, 200, 500, 1000)
# presets/modern.yaml, datasets.memory.grid.hparams (the model keys) and its Adam lr.
HPARAMS: dict[str, Any] = {
    "hidden": 64,
    "layers": 1,
    "head_hidden": 0,
    "heads": 4,
    "ff_hidden": 256,
    "positions": "sinusoidal",
    "pooling": "mean",
    "init": "keras",
}
LR = 1e-3
BATCH = 32  # the preset's batch_size
SIGNAL_INDEX = 5  # presets' signal_position: {from_start: 5}


def make_model(arch: str, length: int, hparams: dict[str, Any]) -> nn.Module:
    """The model a memory-task training job of this length builds."""
    meta = EncodedMeta("memory", "memory", length, "post", "post", 0, 2, ["-1", "+1"])
    return build_model(arch, meta, hparams)


def memory_batch(batch: int, length: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One full-length batch of the memory task: x [B, L] float, lengths [B], y [B] float."""
    split = generate_memory_split(batch, length, min(SIGNAL_INDEX, length - 1), 0, "train")
    x = torch.from_numpy(split.x).float()
    lengths = torch.from_numpy(split.lengths).long()
    return x, lengths, torch.from_numpy(split.y).float()


def computed_by(arch: str, model: nn.Module) -> str:
    """rnnbench's execution path, or (for the bodies it does not cover) the arch's own
    description from the registry."""
    path = execution_path(model)
    if path == EXEC_NO_RECURRENCE and registry.get(arch).description:
        return f"torch ops: {registry.get(arch).description}"
    return path


def time_cell(
    arch: str,
    length: int,
    *,
    batch: int = BATCH,
    hparams: dict[str, Any] | None = None,
    warmup: int = 2,
    windows: int = 5,
    window_seconds: float = 0.5,
    long_step: float = 1.0,
) -> dict[str, Any]:
    """Time ``arch``'s training step at ``length``: one result row (see the module doc)."""
    torch.manual_seed(0)
    model = make_model(arch, length, HPARAMS if hparams is None else hparams)
    model.train()
    x, lengths, y = memory_batch(batch, length)
    optimizer = build_optimizer("adam", model.parameters(), {"lr": LR})
    loss_fn = nn.BCEWithLogitsLoss()
    clip = RECURRENT_CLIP_NORM if registry.get(arch).recurrent else None

    def step() -> float:
        started = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(x, lengths).reshape(-1), y).backward()
        if clip:
            nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        return time.perf_counter() - started

    estimate = min(step() for _ in range(max(1, warmup)))
    steps = max(1, round(window_seconds / estimate))
    if estimate > long_step:
        windows = min(windows, 3)
    per_batch = []
    for _ in range(max(1, windows)):
        started = time.perf_counter()
        for _ in range(steps):
            step()
        per_batch.append((time.perf_counter() - started) / steps)
    ms = 1000 * statistics.median(per_batch)
    return {
        "arch": arch,
        "length": length,
        "ms_per_batch": round(ms, 3),
        "samples_per_second": round(batch / (ms / 1000), 1),
        "spread_ms": [round(1000 * min(per_batch), 3), round(1000 * max(per_batch), 3)],
        "windows": len(per_batch),
        "batches_per_window": steps,
        "warmup": max(1, warmup),
        "params": sum(p.numel() for p in model.parameters()),
        "clip_norm": clip,
        "exec_path": execution_path(model),
        "computed_by": computed_by(arch, model),
        "load_average": [round(v, 2) for v in os.getloadavg()],
    }


def measure(
    archs: Sequence[str],
    lengths: Sequence[int],
    *,
    batch: int = BATCH,
    hparams: dict[str, Any] | None = None,
    warmup: int = 2,
    windows: int = 5,
    window_seconds: float = 0.5,
    long_step: float = 1.0,
    threads: int | None = None,
    log: bool = False,
) -> dict[str, Any]:
    """Every (arch, length) cell, and the setup and machine they ran on. Does not change
    torch's thread count (main does, with configure_cpu); ``threads`` is what is recorded
    (default: torch's current count)."""
    hparams = dict(HPARAMS if hparams is None else hparams)
    for arch in archs:
        registry.get(arch)  # an unknown name fails here, before anything is timed
    timing = {
        "warmup": warmup,
        "windows": windows,
        "window_seconds": window_seconds,
        "long_step": long_step,
    }
    load_start = [round(v, 2) for v in os.getloadavg()]
    date = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    started = time.perf_counter()
    rows = []
    for arch in archs:
        for length in lengths:
            row = time_cell(arch, length, batch=batch, hparams=hparams, **timing)
            rows.append(row)
            if log:
                print(
                    f"  {arch:>12} L={length:<5}: {row['ms_per_batch']:9.1f} ms/batch, "
                    f"{row['samples_per_second']:9,.0f} samples/s "
                    f"({row['windows']} x {row['batches_per_window']} batches; "
                    f"load {row['load_average'][0]})",
                    flush=True,
                )
    return {
        "benchmark": "training-step time vs sequence length, memory task",
        "setup": {
            "task": "memory (seed B: scalar inputs, sign at index 5)",
            "archs": list(archs),
            "lengths": list(lengths),
            "batch": batch,
            "hparams": hparams,
            "optimizer": "adam",
            "lr": LR,
            "loss": "BCEWithLogits, one logit",
            "clip_norm": f"{RECURRENT_CLIP_NORM} for the registry's recurrent archs",
            "warmup": warmup,
            "windows": windows,
            "window_seconds": window_seconds,
            "long_step_seconds": long_step,
        },
        "results": rows,
        "threads": torch.get_num_threads() if threads is None else threads,
        "recurrent_kernels": native.describe(),
        "machine": {
            "cpu": cpu_model(),
            "logical_cores": os.cpu_count(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "load_average_at_start": load_start,
            "load_average_at_end": [round(v, 2) for v in os.getloadavg()],
        },
        "date": date,  # the start
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "seconds": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--archs", nargs="+", default=list(DEFAULT_ARCHS))
    parser.add_argument("--lengths", nargs="+", type=int, default=list(DEFAULT_LENGTHS))
    parser.add_argument("--batch", type=int, default=BATCH)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--windows", type=int, default=5)
    parser.add_argument("--window-seconds", type=float, default=0.5)
    parser.add_argument("--long-step", type=float, default=1.0, help="seconds; at most 3 windows")
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "length_scaling.json"))
    args = parser.parse_args()
    configure_cpu(args.threads)  # as `rnnbench train` does: threads, denormals, allocator
    print(f"recurrent kernels: {native.describe()}", flush=True)
    print(f"load average: {', '.join(f'{v:.2f}' for v in os.getloadavg())}", flush=True)
    result = measure(
        args.archs,
        args.lengths,
        batch=args.batch,
        warmup=args.warmup,
        windows=args.windows,
        window_seconds=args.window_seconds,
        long_step=args.long_step,
        threads=args.threads,
        log=True,
    )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print("\n" + "\n".join(length_scaling_table(result)))
    print(f"wrote {args.out} ({result['seconds']} s)")


if __name__ == "__main__":
    main()
