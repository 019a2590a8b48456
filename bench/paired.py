"""What the CPU training-step benchmarks share (bench/batch_path.py, bench/layer_path.py,
bench/uneven_rows.py): one training step as a job runs it, and their JSON record.

    from paired import training_step, write_record  # bench/, first on sys.path
"""

from __future__ import annotations

import json
import os
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
