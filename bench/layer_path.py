"""Benchmark: how the compiled path runs a layer, one compiled pass or projection + scan.

Inside the compiled path (models/recurrent.py run_stack), a layer whose work splits into
two or more pieces (directions x column groups: compiled_layer.layer_group) runs as one
compiled pass (compiled_layer.py); other layers run an input projection (MKL) plus the
compiled time loop (scan.py). This times both on batches of uneven rows (real text:
the case the compiled path exists for), interleaved round by round in one process (same
weights, same batch; training steps: forward, backward, clipping 1.0, Adam), for
unidirectional layers, where the rule cuts one direction of 64-256 columns in two
pieces.

    python bench/layer_path.py --threads 1   # writes bench/results/layer_path_threads1.json
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
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
from rnnbench.models import build_model, recurrent
from rnnbench.models.bodies import plan_model
from rnnbench.models.compiled_layer import layer_pieces
from rnnbench.models.plan import Path as ExecPath
from rnnbench.train.cpu import configure_cpu

BENCH = Path(__file__).resolve().parent
# (name, arch, batch, length, embedding, hidden); text of a 10,000-token vocabulary
SHAPES = [
    ("seed A", "rnn", 128, 120, 16, 32),
    ("seed A", "gru", 128, 120, 16, 32),
    ("seed A", "lstm", 128, 120, 16, 32),
    ("text, batch 64", "lstm", 64, 120, 16, 32),
    ("imdb (modern)", "lstm", 128, 200, 32, 64),
    ("text, batch 256", "gru", 256, 120, 16, 32),
    ("text, hidden 128", "lstm", 128, 120, 16, 128),
]
VOCAB = 10_000


@contextmanager
def projection_and_scan() -> Iterator[None]:
    """Every layer as projection + scan, whatever its pieces (the alternative timed)."""
    chosen = recurrent._compiled_layer_pays
    recurrent._compiled_layer_pays = lambda inputs: False
    try:
        yield
    finally:
        recurrent._compiled_layer_pays = chosen


def _training_step(arch: str, batch: int, length: int, dim: int, hidden: int) -> Callable:
    meta = EncodedMeta("bench", "sentiment", length, "post", "post", VOCAB, 2)
    torch.manual_seed(0)
    model = build_model(arch, meta, {"embedding_dim": dim, "hidden": hidden, "head_hidden": 0})
    plan_model(model, torch.device("cpu"), ExecPath.COMPILED)  # every batch compiled
    generator = torch.Generator().manual_seed(0)
    x = torch.randint(2, VOCAB, (batch, length), generator=generator)
    lengths = torch.randint(length // 2, length + 1, (batch,), generator=generator)
    lengths[0] = length  # uneven rows, the longest full length
    y = torch.randint(0, 2, (batch,), generator=generator).float()
    return training_step(model, x, lengths, y)


def _timed(step: Callable, steps: int, alternative: bool) -> float:
    with projection_and_scan() if alternative else nullcontext():
        step()  # a warm-up step after each switch
        return seconds_per_step(step, steps)


def measure(rounds: int, steps: int) -> list[dict]:
    rows = []
    for shape in SHAPES:
        name, arch, batch, length, dim, hidden = shape
        step = _training_step(arch, batch, length, dim, hidden)
        times: dict[str, list[float]] = {"one_pass": [], "projection_scan": []}
        for index in range(rounds):  # a b, b a, ...: same minutes for both
            order = ["one_pass", "projection_scan"][:: 1 if index % 2 == 0 else -1]
            for key in order:
                times[key].append(_timed(step, steps, key == "projection_scan"))
        ratios = [s / o for o, s in zip(times["one_pass"], times["projection_scan"], strict=True)]
        row = shape_row(
            shape,
            times,
            pieces=layer_pieces(1, batch),
            one_pass_speedup_per_round=[round(r, 3) for r in ratios],
        )
        rows.append(row)
        print(
            f"  {name:>17} {arch:>5}: one pass {row['one_pass_ms']} ms, projection + scan "
            f"{row['projection_scan_ms']} ms; one pass's speed-up per round "
            f"{row['one_pass_speedup_per_round']}",
            flush=True,
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    add_round_options(parser, rounds=6, steps=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    out_path = args.out or BENCH / "results" / f"layer_path_threads{args.threads}.json"
    configure_cpu(args.threads)
    load = load_average()
    results = measure(args.rounds, args.steps)
    write_record(
        out_path,
        "one compiled pass vs projection + scan per layer, uneven rows",
        args.threads,
        results,
        load,
        rounds=args.rounds,
        steps_per_round=args.steps,
    )


if __name__ == "__main__":
    main()
