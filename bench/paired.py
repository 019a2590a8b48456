"""What the CPU training-step benchmarks share (bench/batch_path.py, bench/layer_path.py,
bench/uneven_rows.py): one training step as a job runs it, and their JSON record.

    from paired import training_step, write_record  # bench/, first on sys.path
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from machine import machine_info
from torch import Tensor, nn

from rnnbench.optimizers import build_optimizer


def training_step(model: nn.Module, x: Tensor, lengths: Tensor, y: Tensor) -> Callable[[], None]:
    """One training step of ``model`` on this batch: forward, BCE loss, backward,
    gradient clipping at norm 1.0 and Adam, as the workflow trains a sentiment model."""
    optimizer, loss_fn = build_optimizer("adam", model.parameters()), nn.BCEWithLogitsLoss()

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(x, lengths), y).backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()

    return step


def load_average() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def write_record(
    out: Path, benchmark: str, threads: int, results: list, load_before: list[float], **fields
) -> None:
    """The benchmark's JSON: what it measured, ``fields`` (rounds, setup, ...), its
    results, the machine with the load average before and after, and the date."""
    record = {
        "benchmark": benchmark,
        "threads": threads,
        **fields,
        "results": results,
        "machine": {**machine_info(load_before), "load_average_after": load_average()},
        "date": date.today().isoformat(),
    }
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {out}")


def add_round_options(parser: argparse.ArgumentParser, rounds: int, steps: int) -> None:
    """--rounds and --steps: how many paired rounds, of how many timed steps each."""
    parser.add_argument("--rounds", type=int, default=rounds)
    parser.add_argument("--steps", type=int, default=steps)


def seconds_per_step(step: Callable[[], None], steps: int) -> float:
    started = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - started) / steps


def shape_row(shape: tuple, times: dict[str, list[float]], **fields) -> dict:
    """A result row: the shape (name, arch, batch, length, ..., hidden), each variant's
    median ms per step (``<variant>_ms``) and ``fields``."""
    name, arch, batch, length, *_, hidden = shape
    medians = {f"{key}_ms": round(1000 * statistics.median(t), 2) for key, t in times.items()}
    row = {"shape": name, "arch": arch, "batch": batch, "length": length, "hidden": hidden}
    return {**row, **fields, **medians}
