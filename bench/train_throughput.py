"""Benchmark: training throughput (samples/s) of every architecture at seed-A shapes.

Seed A: vocab 10,000, embedding 16, length 120, batch 128, hidden 32 (bidirectional for
birnn/bilstm/bigru), Dense(6) head, one logit, Adam, BCE loss, gradient clipping as in
training. Each architecture trains on random token ids (every row at full length, as
~85% of IMDB reviews are longer than 120 tokens); after warm-up batches, samples/s is the
median over several timed windows.

    python bench/train_throughput.py [--threads 1] [--windows 5] [--batches 5]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch
from torch import nn

from rnnbench.data.arrays import EncodedMeta
from rnnbench.models import ARCHITECTURES, RECURRENT, build_model
from rnnbench.train.optimizers import build_optimizer

REPO = Path(__file__).resolve().parents[1]
SEED_A = {"vocab": 10_000, "embedding_dim": 16, "length": 120, "batch": 128, "hidden": 32}


def samples_per_second(arch: str, threads: int, windows: int, batches: int) -> dict:
    torch.manual_seed(0)
    torch.set_num_threads(threads)
    meta = EncodedMeta(
        dataset="bench",
        task="sentiment",
        length=SEED_A["length"],
        padding="post",
        truncating="post",
        vocab_size=SEED_A["vocab"],
        num_classes=2,
    )
    model = build_model(
        arch, meta, {"embedding_dim": SEED_A["embedding_dim"], "hidden": SEED_A["hidden"]}
    )
    optimizer = build_optimizer("adam", model.parameters())
    loss_fn = nn.BCEWithLogitsLoss()
    batch = SEED_A["batch"]
    x = torch.randint(2, SEED_A["vocab"], (batch, SEED_A["length"]))
    lengths = torch.full((batch,), SEED_A["length"], dtype=torch.long)
    y = torch.randint(0, 2, (batch,)).float()
    clip = 1.0 if arch in RECURRENT else None

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x, lengths), y)
        loss.backward()
        if clip:
            nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()

    for _ in range(3):  # warm-up: allocator, kernel selection
        step()
    rates = []
    for _ in range(windows):
        started = time.perf_counter()
        for _ in range(batches):
            step()
        rates.append(batch * batches / (time.perf_counter() - started))
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {
        "arch": arch,
        "params": params,
        "samples_per_second": round(statistics.median(rates), 1),
        "spread": [round(min(rates), 1), round(max(rates), 1)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--windows", type=int, default=5)
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--archs", nargs="*", default=list(ARCHITECTURES))
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "train_throughput.json"))
    args = parser.parse_args()
    rows = []
    for arch in args.archs:
        row = samples_per_second(arch, args.threads, args.windows, args.batches)
        print(
            f"{arch:>14}  {row['params']:>8,} params  {row['samples_per_second']:>9.1f} samples/s"
        )
        rows.append(row)
    result = {
        "benchmark": "training samples/s at seed-A shapes (vocab 10k, emb 16, len 120, batch 128, hidden 32, Adam)",
        "threads": args.threads,
        "windows": args.windows,
        "batches_per_window": args.batches,
        "results": rows,
        "machine": {"cpu": platform.processor() or platform.machine(), "torch": torch.__version__},
        "date": time.strftime("%Y-%m-%d"),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
