"""Benchmark: training throughput, rnnbench vs torch's modules vs a naive loop vs Keras 3.

Two shapes, from the seed experiments:

- seed A: vocab 10,000, embedding 16, length 120, batch 128, hidden 32 (per direction
  for birnn/bilstm/bigru/bimingru/biminlstm), Dense(6) head, one logit, Adam, BCE, gradient clipping 1.0 for
  recurrent models (the registry's recurrent ones: minGRU/minLSTM too, not the
  transformer); every architecture, the transformer with its defaults (4 heads,
  feed-forward 4 x hidden, mean pooling).
- seed C: vocab 20,000, embedding 64, 25 stacked layers of hidden 8, length 200, batch
  1000, a linear head; rnn, lstm, gru.

For each recurrent model it times, in this one process and at the same thread count:
rnnbench's model (on the path its plan picks: models/plan.py), the same model
computed by torch's own ``nn.RNN``/``nn.LSTM``/``nn.GRU`` on packed sequences, and the
naive per-step loop (bench/naive_loop.py); the transformer and minGRU/minLSTM have only
rnnbench's model. Keras 3 on TensorFlow CPU runs the same
model in a subprocess from its own virtual environment (bench/keras_env.py installs it;
if it cannot, the Keras column is empty and the reason is recorded). Every row is full
length (~85% of IMDB reviews exceed 120 tokens), random ids, random labels.

samples/s is the median over timed windows after warm-up batches; within a row the
variants' windows alternate (training_rates), so they share the machine's moments. Model
FLOP/s counts the matrix products of the forward pass analytically (x3 for forward +
backward) and is compared with the measured fp32 matrix-multiply peak (2048 x 2048,
same threads); for the transformer it includes the two attention products (L x L x width
each).

    python bench/train_throughput.py [--threads 2] [--shapes seed-a seed-c] [--no-keras]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from rnnbench import registry
from rnnbench.data.arrays import EncodedMeta
from rnnbench.models import ARCHITECTURES, RECURRENT, build_model, native
from rnnbench.models.bodies import plan_model
from rnnbench.models.build import FUSED
from rnnbench.models.plan import Path as ExecPath
from rnnbench.names import CELL_ARCHS
from rnnbench.optimizers import build_optimizer
from rnnbench.registry import TransformerConfig
from rnnbench.train.cpu import configure_cpu

sys.path.insert(0, str(Path(__file__).resolve().parent))
from keras_env import keras_python
from machine import machine_info
from naive_loop import NaiveLoop, check_same_outputs
from shapes import SHAPES, Shape

REPO = Path(__file__).resolve().parents[1]
GATES = {"rnn": 1, "lstm": 4, "gru": 3, "lstm_peephole": 4, "lstm_cifg": 3}
# minGRU: candidate + update gate; minLSTM: candidate + forget + input gates (models/minrnn.py)
MIN_GATES = {"mingru": 2, "minlstm": 3, "bimingru": 2, "biminlstm": 3}


def shape_hparams(shape: Shape) -> dict:
    """The model keys a shape sets; every other key is the architecture's default (the
    transformer: 4 heads, feed-forward width 4 x hidden, sinusoidal positions, mean pooling)."""
    return {
        "embedding_dim": shape.embedding_dim,
        "hidden": shape.hidden,
        "layers": shape.layers,
        "head_hidden": shape.head_hidden,
    }


def make_model(arch: str, shape: Shape) -> nn.Module:
    meta = EncodedMeta("bench", "sentiment", shape.length, "post", "post", shape.vocab, 2)
    return build_model(arch, meta, shape_hparams(shape))


def _training_step(model: nn.Module, arch: str, batch_data: tuple) -> Callable[[], None]:
    """One training step of ``model`` as rnnbench trains it (Adam, BCE, clipping 1.0 for
    recurrent models), on the same batch every time."""
    x, lengths, y = batch_data
    optimizer = build_optimizer("adam", model.parameters())
    loss_fn = nn.BCEWithLogitsLoss()
    clip = arch in RECURRENT

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(x, lengths), y).backward()
        if clip:
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()

    return step


def training_rates(
    variants: dict[str, nn.Module], arch: str, shape: Shape, batch_data: tuple
) -> dict[str, list[float]]:
    """samples/s of each timed window, per variant.

    The variants' windows are interleaved, in alternating order (a b c, c b a, ...), so
    that every variant meets the same machine: timed one after the other, the first
    variant of a row read up to 2x slower than the same kernel timed second (bilstm,
    rnnbench vs torch's module, both oneDNN: 7,962 vs 9,354 samples/s in one round).
    """
    steps = {name: _training_step(model, arch, batch_data) for name, model in variants.items()}
    for step in steps.values():
        for _ in range(shape.warmup):
            step()
    rates: dict[str, list[float]] = {name: [] for name in steps}
    order = list(steps)
    for window in range(shape.windows):
        for name in order if window % 2 == 0 else reversed(order):
            started = time.perf_counter()
            for _ in range(shape.batches):
                steps[name]()
            rates[name].append(shape.batch * shape.batches / (time.perf_counter() - started))
    return rates


def summarise(rates: list[float]) -> dict:
    return {
        "samples_per_second": round(statistics.median(rates), 1),
        "spread": [round(min(rates), 1), round(max(rates), 1)],
    }


def _head_flops(size: int, head_hidden: int) -> int:
    """The head's matrix products: Dense(head_hidden) + the logit, or the logit alone."""
    return 2 * (size * head_hidden + head_hidden if head_hidden else size)


def _transformer_flops(shape: Shape, config: TransformerConfig) -> int:
    """A pre-LN encoder over every position (batches are full length): the input
    projection (when the input width differs), then per layer the Q/K/V and output
    projections, the two attention products (scores Q K^T and weights x V: L x L x width
    each, over all heads together) and the feed-forward pair."""
    width, steps = config.hidden, shape.length
    if config.pooling == "cls":
        steps += 1  # the CLS token is one more position (sequence classification)
    ff = config.ff_hidden or 4 * width
    flops = 2 * shape.length * shape.embedding_dim * width if shape.embedding_dim != width else 0
    per_layer = steps * 4 * width * width + 2 * steps * steps * width + steps * 2 * width * ff
    return flops + 2 * config.layers * per_layer + _head_flops(width, shape.head_hidden)


def forward_matmul_flops(arch: str, shape: Shape) -> int | None:
    """Multiply-adds x 2 of one example's forward pass (matrix products only); None for an
    architecture this count does not know (the table then shows no GFLOP/s)."""
    e, h, steps = shape.embedding_dim, shape.hidden, shape.length
    if arch == "flatten":
        return 2 * (steps * e * 6 + 6)
    if arch == "cnn":
        return 2 * ((steps - 4) * 5 * e * 128 + 128 * 6 + 6)
    if arch not in registry.names():
        return None
    config = registry.resolve(arch, shape_hparams(shape))
    if isinstance(config, TransformerConfig):
        return _transformer_flops(shape, config)
    if arch in MIN_GATES:  # one input-only Linear(size, gates x h) per layer and direction
        directions = 2 if arch.startswith("bi") else 1
        kind_gates, recurrent_size = MIN_GATES[arch], 0
    elif arch in FUSED or arch in CELL_ARCHS:
        kind, bidirectional = FUSED.get(arch, (arch.removesuffix("_cell"), False))
        directions = 2 if bidirectional else 1
        kind_gates, recurrent_size = GATES[kind], h
    else:
        return None
    flops, size = 0, e
    for _ in range(shape.layers):
        flops += 2 * steps * directions * kind_gates * h * (size + recurrent_size)
        size = h * directions
    return flops + _head_flops(size, shape.head_hidden)


def matmul_peak_gflops(threads: int, size: int = 2048, repeats: int = 10) -> float:
    torch.set_num_threads(threads)
    a, b = torch.randn(size, size), torch.randn(size, size)
    for _ in range(3):
        a @ b
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - started)
    return 2 * size**3 / min(times) / 1e9


def keras_rates(python: Path | None, shape: Shape, arch: str, threads: int) -> dict | None:
    if python is None:
        return None
    command = [
        str(python), str(REPO / "bench" / "keras_side.py"), "--shape", shape.name,
        "--arch", arch, "--threads", str(threads), "--warmup", str(shape.warmup),
        "--windows", str(shape.windows), "--batches", str(shape.batches),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        print(f"  keras {arch}: failed ({done.stderr.strip().splitlines()[-1:]})", flush=True)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_arch(arch: str, shape: Shape, threads: int, python: Path | None, naive: bool) -> dict:
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    x = torch.randint(2, shape.vocab, (shape.batch, shape.length), generator=gen)
    lengths = torch.full((shape.batch,), shape.length, dtype=torch.long)
    y = torch.randint(0, 2, (shape.batch,), generator=gen).float()
    data = (x, lengths, y)
    model = make_model(arch, shape)
    forward = forward_matmul_flops(arch, shape)
    row: dict = {
        "arch": arch,
        "params": sum(p.numel() for p in model.parameters()),
        "flops_per_sample": None if forward is None else 3 * forward,
    }
    variants: dict[str, nn.Module] = {"rnnbench": model}
    if arch in FUSED:
        reference = copy.deepcopy(model)
        plan_model(reference, torch.device("cpu"), ExecPath.LIBRARY)
        variants["torch_module"] = reference
        if naive:
            loop = NaiveLoop(copy.deepcopy(model))
            check_same_outputs(model, loop, x, lengths)
            variants["naive_loop"] = loop
    for name, rates in training_rates(variants, arch, shape, data).items():
        row[name] = summarise(rates)
    # Keras has no peephole/CIFG layers, and its cells are its fused layers.
    keras = keras_rates(python, shape, arch, threads) if arch in shape.archs else None
    if keras is not None:
        row["keras"] = {k: keras[k] for k in ("samples_per_second", "spread", "params")}
    parts = [f"{k} {v['samples_per_second']:,.0f}" for k, v in row.items() if isinstance(v, dict)]
    print(f"  {shape.name} {arch:>14}: " + ", ".join(parts) + " samples/s", flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--shapes", nargs="*", default=list(SHAPES), choices=list(SHAPES))
    parser.add_argument("--archs", nargs="*", default=None, help="limit to these archs")
    parser.add_argument("--no-keras", action="store_true", help="skip the Keras side")
    parser.add_argument("--no-naive", action="store_true", help="skip the naive loop")
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "train_throughput.json"))
    args = parser.parse_args()
    configure_cpu(args.threads)  # as `rnnbench train` does: threads, denormals, allocator
    load_before = [round(v, 2) for v in os.getloadavg()]
    print(f"recurrent kernels: {native.describe()}", flush=True)

    python, keras_note = (None, "skipped (--no-keras)") if args.no_keras else keras_python()
    print(f"Keras side: {keras_note}", flush=True)
    peak = matmul_peak_gflops(args.threads)
    print(f"fp32 matmul peak: {peak:.1f} GFLOP/s at {args.threads} thread(s)", flush=True)
    shapes = {}
    for name in args.shapes:
        shape = SHAPES[name]
        # Seed A also times rnnbench's explicit cells, which Keras has no twin of.
        every = ARCHITECTURES if name == "seed-a" else shape.archs
        archs = [a for a in every if args.archs is None or a in args.archs]
        shapes[name] = {
            "setup": shape.__dict__,
            "results": [
                bench_arch(a, shape, args.threads, python, not args.no_naive) for a in archs
            ],
        }
    result = {
        "benchmark": "training samples/s: rnnbench vs torch modules vs naive loop vs Keras 3",
        "threads": args.threads,
        "matmul_peak_gflops": round(peak, 1),
        "keras": keras_note,
        "recurrent_kernels": native.describe(),
        "shapes": shapes,
        "machine": machine_info(load_before),
        "date": time.strftime("%Y-%m-%d"),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
