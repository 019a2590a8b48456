"""GPU per-cell training throughput through rnnbench's own models (issue 18).

One training step = forward, loss, backward, global clip 1.0, Adam 1e-3: what loop.py runs,
minus data loading. Seed-A shapes (bench/shapes.py: vocab 10,000, length 120, embedding
16, hidden 32, head 6, one logit), pre-padded rows with lengths drawn uniformly from
[1, 120] (fixed seed). Samples/s is the median of ``--windows`` windows of ``--steps``
steps after ``--warmup`` steps, the device synchronised around each window.

    python bench/gpu_bench.py cell --out cell.json           # paths x archs x precision
    python bench/gpu_bench.py cells --k 1 4 8 --out k.json   # K concurrent processes

``cell`` times each arch on the padded GPU path (the default there) and on the packed
reference (impl "torch", what rnnbench ran before), in float32 and under bf16 autocast.
``cells`` starts K processes at once, each training lstm for ``--seconds``, and reports
their summed samples/s: the K-cells-per-GPU scaling of the Slurm packing. Runs on a CPU
too (for a smoke test), where the numbers mean nothing for a GPU.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing as mp
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from shapes import SHAPES

from rnnbench.data.arrays import EncodedMeta
from rnnbench.models import bodies, build_model
from rnnbench.names import UNPACKED

SHAPE = SHAPES["seed-a"]


def _device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _setup(arch: str, impl: str, batch: int, device: torch.device):
    meta = EncodedMeta("bench", "sentiment", SHAPE.length, "pre", "pre", SHAPE.vocab, 2)
    hparams = {
        "embedding_dim": SHAPE.embedding_dim,
        "hidden": SHAPE.hidden,
        "layers": SHAPE.layers,
        "head_hidden": SHAPE.head_hidden,
    }
    torch.manual_seed(0)
    model = build_model(arch, meta, hparams, device).to(device)
    recurrence = model.body.recurrence
    if impl == "torch":  # torch's module on packed sequences, as the CPU plan runs it
        label = recurrence.plan.label.removesuffix(UNPACKED)
        recurrence.plan = dataclasses.replace(recurrence.plan, unpacked=False, label=label)
    gen = torch.Generator().manual_seed(1)
    lengths = torch.randint(1, SHAPE.length + 1, (batch,), generator=gen)
    x = torch.randint(2, SHAPE.vocab, (batch, SHAPE.length), generator=gen)
    x = x * (torch.arange(SHAPE.length)[None, :] >= SHAPE.length - lengths[:, None])
    y = torch.randint(0, 2, (batch,), generator=gen).float()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    return model, optimizer, x.to(device), lengths.to(device), y.to(device)


def _train_step(model, optimizer, x, lengths, y, amp: torch.dtype | None, device) -> None:
    optimizer.zero_grad(set_to_none=True)
    with torch.autocast(device.type, dtype=amp or torch.float32, enabled=amp is not None):
        logits = model(x, lengths)
    loss = nn.functional.binary_cross_entropy_with_logits(logits.float().reshape(-1), y)
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()


def time_cell(arch: str, impl: str, amp: str | None, batch: int, args) -> dict:
    device = _device()
    model, optimizer, x, lengths, y = _setup(arch, impl, batch, device)
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16, None: None}[amp]
    for _ in range(args.warmup):
        _train_step(model, optimizer, x, lengths, y, dtype, device)
    rates = []
    for _ in range(args.windows):
        _sync(device)
        tick = time.perf_counter()
        for _ in range(args.steps):
            _train_step(model, optimizer, x, lengths, y, dtype, device)
        _sync(device)
        rates.append(batch * args.steps / (time.perf_counter() - tick))
    return {
        "arch": arch,
        "impl": impl,
        "exec_path": bodies.execution_path(model),
        "amp": amp,
        "batch": batch,
        "samples_per_s": statistics.median(rates),
        "windows": rates,
    }


def _worker(arch: str, batch: int, seconds: float, start, queue) -> None:
    device = _device()
    model, optimizer, x, lengths, y = _setup(arch, "auto", batch, device)
    for _ in range(3):
        _train_step(model, optimizer, x, lengths, y, None, device)
    _sync(device)
    start.wait()  # every process starts timing together
    tick, steps = time.perf_counter(), 0
    while time.perf_counter() - tick < seconds:
        _train_step(model, optimizer, x, lengths, y, None, device)
        steps += 1
    _sync(device)
    queue.put(batch * steps / (time.perf_counter() - tick))


def time_k_cells(k: int, args) -> dict:
    ctx = mp.get_context("spawn")  # CUDA cannot fork
    start, queue = ctx.Barrier(k), ctx.Queue()
    procs = [
        ctx.Process(target=_worker, args=(args.arch, args.batch, args.seconds, start, queue))
        for _ in range(k)
    ]
    for proc in procs:
        proc.start()
    rates = [queue.get(timeout=args.seconds + 300) for _ in procs]
    for proc in procs:
        proc.join()
    return {"k": k, "arch": args.arch, "batch": args.batch, "per_cell": rates, "total": sum(rates)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["cell", "cells"])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--archs", nargs="+", default=["lstm", "gru", "bilstm", "bigru"])
    parser.add_argument("--impls", nargs="+", default=["padded", "torch"])
    parser.add_argument("--amp", nargs="+", default=["none", "bf16"])
    parser.add_argument("--batch", type=int, default=SHAPE.batch)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--windows", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--k", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--arch", default="lstm")
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    device = _device()
    info = {
        "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "cudnn": torch.backends.cudnn.version() if device.type == "cuda" else None,
        "tf32": False,
    }
    if device.type == "cuda":  # float32 as rnnbench trains by default (hparams.tf32 false)
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    results = []
    if args.mode == "cell":
        for arch in args.archs:
            for impl in args.impls:
                for amp in args.amp:
                    row = time_cell(arch, impl, None if amp == "none" else amp, args.batch, args)
                    print(json.dumps({k: v for k, v in row.items() if k != "windows"}), flush=True)
                    results.append(row)
    else:
        for k in args.k:
            row = time_k_cells(k, args)
            print(json.dumps(row), flush=True)
            results.append(row)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"info": info, "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
