"""Benchmark: the per-batch rule of models/plan.py (uniform_rows_plan), measured.

Batches whose rows all have one length may run an LSTM on torch's module over the
unpacked batch (oneDNN's fused LSTM) instead of the compiled kernels. This times both on
full-length batches, interleaved round by round in one process (same weights, same
batch, training steps: forward, backward, clipping 1.0, Adam), for the LSTM shapes the
presets and the benchmarks use; the ratio per round is what the rule reads.

    python bench/batch_path.py --threads 2   # writes bench/results/batch_path.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from paired import (  # bench/, first on sys.path
    add_round_options,
    load_average,
    seconds_per_step,
    shape_row,
    training_step,
    write_record,
)

from rnnbench.data.arrays import EncodedMeta
from rnnbench.models import build_model
from rnnbench.models.bodies import plan_model
from rnnbench.models.plan import Path as ExecPath
from rnnbench.models.plan import Plan
from rnnbench.names import EXEC_ONEDNN, UNPACKED
from rnnbench.train.cpu import configure_cpu

BENCH = Path(__file__).resolve().parent
# (name, arch, batch, length, input: vocab for text (embedding 16) or 0 for scalars, hidden)
SHAPES = [
    ("seed A", "lstm", 128, 120, 10_000, 32),
    ("seed A", "bilstm", 128, 120, 10_000, 32),
    ("text, batch 64", "bilstm", 64, 120, 10_000, 32),
    ("text, batch 32", "bilstm", 32, 120, 10_000, 32),
    ("memory (modern)", "lstm", 32, 200, 0, 64),
    ("memory (modern)", "bilstm", 32, 200, 0, 64),
    ("memory, batch 128", "bilstm", 128, 200, 0, 64),
    ("text, batch 32", "lstm", 32, 120, 10_000, 32),
    ("text, hidden 128", "lstm", 128, 120, 10_000, 128),
]
ONEDNN = Plan(ExecPath.LIBRARY, EXEC_ONEDNN + UNPACKED, unpacked=True)


def _model(arch: str, batch: int, length: int, vocab: int, hidden: int, onednn: bool):
    task = "sentiment" if vocab else "memory"
    meta = EncodedMeta("bench", task, length, "post", "post", vocab, 2)
    torch.manual_seed(0)
    hparams = {"hidden": hidden, "head_hidden": 0}
    if vocab:
        hparams["embedding_dim"] = 16
    model = build_model(arch, meta, hparams)
    plan_model(model, torch.device("cpu"), ExecPath.COMPILED)  # every batch compiled
    if onednn:  # every batch (all full length) on the uniform-rows plan, whatever its rows
        recurrence = model.body.recurrence
        recurrence.uniform_plan, recurrence.batch_plans = ONEDNN, {(batch, length): ONEDNN}
    generator = torch.Generator().manual_seed(0)
    if vocab:
        x = torch.randint(2, vocab, (batch, length), generator=generator)
    else:
        x = torch.randn(batch, length, generator=generator)
    y = torch.randint(0, 2, (batch,), generator=generator).float()
    return model, training_step(model, x, torch.full((batch,), length), y)


def measure(rounds: int, steps: int) -> list[dict]:
    rows = []
    for shape in SHAPES:
        name, arch, batch, length, vocab, hidden = shape
        compiled = _model(arch, batch, length, vocab, hidden, onednn=False)
        onednn = _model(arch, batch, length, vocab, hidden, onednn=True)
        for _, step in (compiled, onednn):
            step()
            step()
        times: dict[str, list[float]] = {"compiled": [], "onednn": []}
        for _ in range(rounds):
            for key, (_, step) in (("compiled", compiled), ("onednn", onednn)):
                times[key].append(seconds_per_step(step, steps))
        ratios = [c / o for c, o in zip(times["compiled"], times["onednn"], strict=True)]
        labels = {onednn[0].body.recurrence.plan_for_batch(torch.full((batch,), length)).label}
        row = shape_row(
            shape,
            times,
            onednn_speedup_per_round=[round(r, 3) for r in ratios],
            onednn_path=sorted(labels),
        )
        rows.append(row)
        print(
            f"  {name:>17} {arch:>6}: compiled {row['compiled_ms']} ms, oneDNN "
            f"{row['onednn_ms']} ms; oneDNN speed-up per round {row['onednn_speedup_per_round']}",
            flush=True,
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    add_round_options(parser, rounds=7, steps=2)
    parser.add_argument("--out", type=Path, default=BENCH / "results" / "batch_path.json")
    args = parser.parse_args()
    configure_cpu(args.threads)
    load = load_average()
    results = measure(args.rounds, args.steps)
    write_record(
        args.out,
        "LSTM training step on full-length batches: compiled kernels vs oneDNN",
        args.threads,
        results,
        load,
        rounds=args.rounds,
        steps_per_round=args.steps,
    )


if __name__ == "__main__":
    main()
