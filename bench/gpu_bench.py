"""GPU per-cell training throughput through rnnbench's own models (issue 18).

One training step = forward, loss, backward, global clip 1.0, Adam 1e-3: what loop.py runs,
minus data loading. Seed-A shapes (bench/shapes.py: vocab 10,000, length 120, embedding
16, hidden 32, head 6, one logit), pre-padded rows with lengths drawn uniformly from
[1, 120] (fixed seed). Samples/s is the median of ``--windows`` windows of ``--steps``
steps after ``--warmup`` steps, the device synchronised around each window.

    python bench/gpu_bench.py cell --out cell.json           # paths x archs x precision
    python bench/gpu_bench.py cell --modes eager graph --amp none --impls padded \
        --buckets 4 --out graph.json                         # the step as a CUDA graph
    python bench/gpu_bench.py cells --k 1 4 8 16 --out k.json  # K concurrent processes

``cell`` times each arch on the path the plan chooses (impl "padded" for the fused
archs, the cuDNN kernels over the padded batch; for the cell architectures their loop
with each step compiled, models/step_compile.py), on the packed reference (impl
"torch", what rnnbench ran before) or on the reference loop (impl "reference"), in
float32 and under bf16 autocast. ``--buckets N`` feeds length-bucketed batches of N
shapes (lengths up to 120 in N equal steps, as hparams.batching trims each bucket),
copied from pinned host memory without blocking the host. Mode "graph" captures the
whole training step (forward, loss, backward, foreach clipping, capturable fused Adam)
once per bucket shape as a CUDA graph and replays it; mode "eager" runs the same step
and batches op by op. A capture that fails is recorded with its error, not hidden.
``cells`` starts K processes at once, each training ``--arch`` for ``--seconds``, and
reports their summed samples/s, its ratio to K = 1 and the seed-A cells per hour it
means (CELL_SAMPLES training samples per cell, evaluation not counted): the
K-cells-per-GPU scaling of the Slurm packing. Runs on a CPU too (a smoke test, graph
mode excepted), where the numbers mean nothing for a GPU.
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
from rnnbench.models.plan import Path as ExecPath
from rnnbench.names import UNPACKED

SHAPE = SHAPES["seed-a"]
# One seed-A IMDB cell's training samples: 22,500 reviews (25,000 less the validation
# tenth) x 10 epochs (config.yaml).
CELL_SAMPLES = 22_500 * 10


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
    elif impl == "reference":  # the loop over the textbook cell, one step at a time
        bodies.plan_model(model, device, ExecPath.REFERENCE)
    x, lengths, y = _batch(batch, SHAPE.length, SHAPE.length, seed=1)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    return model, optimizer, x.to(device), lengths.to(device), y.to(device)


def _batch(batch: int, width: int, longest: int, seed: int):
    """Pre-padded token ids [batch, width] with lengths uniform in [1, longest]."""
    gen = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, longest + 1, (batch,), generator=gen)
    x = torch.randint(2, SHAPE.vocab, (batch, width), generator=gen)
    x = x * (torch.arange(width)[None, :] >= width - lengths[:, None])
    y = torch.randint(0, 2, (batch,), generator=gen).float()
    return x, lengths, y


def _bucketed_batches(buckets: int, batch: int, per_bucket: int = 2) -> list[tuple]:
    """Pinned host batches of ``buckets`` shapes: bucket i holds rows of lengths up to
    (i + 1) * 120 / buckets, trimmed to that width (as hparams.batching trims a bucket)."""
    batches = []
    for i in range(buckets):
        width = SHAPE.length * (i + 1) // buckets
        for j in range(per_bucket):
            tensors = _batch(batch, width, width, seed=100 * i + j)
            batches.append(
                tuple(t.pin_memory() if torch.cuda.is_available() else t for t in tensors)
            )
    return batches


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
        "mode": "eager",
        "exec_path": bodies.execution_path(model),
        "amp": amp,
        "batch": batch,
        "samples_per_s": statistics.median(rates),
        "windows": rates,
    }


def _bucket_step(model, optimizer, static: tuple):
    """One training step on the static device tensors (x, lengths, y) of one bucket shape:
    what loop.py runs, clipping with foreach; no host read anywhere (capturable)."""

    def step() -> None:
        optimizer.zero_grad(set_to_none=False)  # a graph keeps the same gradient tensors
        logits = model(static[0], static[1])
        loss = nn.functional.binary_cross_entropy_with_logits(logits.float().reshape(-1), static[2])
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0, foreach=True)
        optimizer.step()

    return step


def _captured(step, pool) -> callable:
    """``step`` captured as a CUDA graph after warm-up on a side stream: its replay."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            step()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph, pool=pool):
        step()
    return graph.replay


def time_bucketed(arch: str, impl: str, mode: str, args) -> dict:
    """Samples/s over length-bucketed pinned batches, eager or one CUDA graph per bucket
    shape (mode "graph": capturable fused Adam)."""
    device = _device()
    model, _, *_ = _setup(arch, impl, args.batch, device)
    graph = mode == "graph"
    if graph and device.type != "cuda":
        raise RuntimeError("CUDA graphs need a CUDA device")
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, capturable=graph, fused=graph or None)
    batches = _bucketed_batches(args.buckets, args.batch)
    statics, runs = {}, {}
    pool = torch.cuda.graph_pool_handle() if graph else None
    for x, lengths, y in batches:
        width = x.shape[1]
        if width not in statics:
            statics[width] = tuple(t.to(device) for t in (x, lengths, y))
            step = _bucket_step(model, optimizer, statics[width])
            runs[width] = _captured(step, pool) if graph else step

    def run(batch: tuple) -> None:
        static = statics[batch[0].shape[1]]
        for dst, src in zip(static, batch, strict=True):
            dst.copy_(src, non_blocking=True)  # pinned host memory: the host runs ahead
        runs[batch[0].shape[1]]()

    for batch in batches:  # warm-up: every shape once more
        run(batch)
    rates, step_count = [], 0
    for _ in range(args.windows):
        _sync(device)
        tick = time.perf_counter()
        for _ in range(args.steps):
            run(batches[step_count % len(batches)])
            step_count += 1
        _sync(device)
        rates.append(args.batch * args.steps / (time.perf_counter() - tick))
    return {
        "arch": arch,
        "impl": impl,
        "mode": mode,
        "exec_path": bodies.execution_path(model),
        "amp": None,
        "batch": args.batch,
        "buckets": sorted(statics),
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
    total = sum(rates)
    return {
        "k": k,
        "arch": args.arch,
        "batch": args.batch,
        "per_cell": rates,
        "total": total,
        "cells_per_hour": total * 3600 / CELL_SAMPLES,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["cell", "cells"])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--archs", nargs="+", default=["lstm", "gru", "bilstm", "bigru"])
    parser.add_argument(
        "--impls", nargs="+", default=["padded", "torch"], choices=["padded", "torch", "reference"]
    )
    parser.add_argument("--amp", nargs="+", default=["none", "bf16"])
    parser.add_argument(
        "--modes",
        nargs="+",
        default=["eager"],
        choices=["eager", "graph"],
        help="eager, graph: length-bucketed pinned batches (--buckets), op by op or one"
        " CUDA graph per bucket shape; without --buckets, eager on one full-length batch",
    )
    parser.add_argument("--buckets", type=int, default=0, help="bucket shapes (0: one batch)")
    parser.add_argument("--append", action="store_true", help="add to --out's results")
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
    if args.append and args.out.exists():
        results = json.loads(args.out.read_text())["results"]
    for row in _rows(args):
        print(json.dumps({k: v for k, v in row.items() if k != "windows"}), flush=True)
        results.append(row)
        args.out.parent.mkdir(parents=True, exist_ok=True)  # each row kept as it comes
        args.out.write_text(json.dumps({"info": info, "results": results}, indent=2) + "\n")


def _rows(args):
    """The measurements ``args`` ask for, one row each; a failure is a row with its error."""
    if args.mode == "cells":
        for k in args.k:
            yield time_k_cells(k, args)
        return
    for arch in args.archs:
        for impl in args.impls:
            if args.buckets:
                for mode in args.modes:
                    yield _or_error(time_bucketed, arch, impl, mode, args)
                continue
            for amp in args.amp:
                yield _or_error(
                    time_cell, arch, impl, None if amp == "none" else amp, args.batch, args
                )


def _or_error(measure, arch: str, impl: str, *rest) -> dict:
    try:
        return measure(arch, impl, *rest)
    except Exception as error:  # recorded in the results, not hidden
        mode = rest[0] if measure is time_bucketed else "eager"
        return {"arch": arch, "impl": impl, "mode": mode, "error": repr(error)[:400]}


if __name__ == "__main__":
    main()
