"""The GPU path of the cell architectures: the reference loop with each step compiled.

The peephole and CIFG LSTMs and the textbook cells (rnn_cell, lstm_cell, gru_cell) have
no cuDNN kernel, and rnnbench's compiled kernels (native/) run on CPUs only. On a GPU
their reference loop (cells.run_cell) launches one kernel per elementwise operation of a
step, about ten forward and more backward, each a few microseconds of launch for a few
hundred numbers of work. This path keeps that loop and its maths, one step at a time, but
hands each step's gate maths (the cell's ``update``) to ``torch.compile``: inductor fuses
it into one generated kernel forward and a few backward (Triton on a GPU, C++ on a CPU).
Captured with the whole training step as a CUDA graph (bench/gpu_bench.py ``--graph``),
the remaining per-step launches replay without Python.

The plan (models/plan.py) picks this path for the cell architectures on CUDA devices
where Triton is installed (torch's CUDA wheels bundle it); it can be forced on a CPU,
where inductor compiles C++, which is how the tests compare it with the reference loop
in float64 (tests/test_models_step_compile.py). Same maths, same parameters: only the
rounding of fused float32 arithmetic may differ, as between any two GPU kernels.
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
from collections.abc import Callable

import torch

from rnnbench.models.cells import CELLS, Cell, Update

EXEC_STEP_COMPILED = "Python loops, torch.compile step"  # metrics.json's exec_path label
KINDS = tuple(CELLS)  # the cell architectures this path runs


def available(device: torch.device) -> bool:
    """Whether the plan may choose this path on ``device`` by itself: CUDA with Triton
    (what inductor generates GPU kernels with). Forcing it elsewhere is the caller's
    choice (CPUs need a C++ compiler, as for the compiled kernels)."""
    return device.type == "cuda" and triton_installed()


def triton_installed() -> bool:
    return importlib.util.find_spec("triton") is not None


@functools.cache
def _compiled(function: Callable) -> Callable:
    # dynamic=None: each step shape compiles once; a second batch size (a bucket's
    # remainder) makes the batch dimension dynamic instead of compiling per size.
    return torch.compile(function, fullgraph=True, dynamic=None)


def step_update(cell: Cell) -> Update:
    """``cell.update`` compiled: the same (x_proj, h_proj, state) -> state function.

    One compiled function per cell class, shared by every layer and model; a cell with
    parameters of its own (peepholes) passes itself, so its parameters are the compiled
    graph's inputs and get their gradients as in the loop.
    """
    update = inspect.getattr_static(type(cell), "update")
    if isinstance(update, staticmethod):
        return _compiled(update.__func__)
    return functools.partial(_compiled(update), cell)
