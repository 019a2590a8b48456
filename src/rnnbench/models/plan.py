"""The execution plan: which path computes a recurrence, decided once for its device.

Every recurrence runs on one of at most three paths, each tested equal to the others:

- ``COMPILED``: rnnbench's C++ kernels (native/kernels.cpp; recurrent.run_stack), on CPUs
  where a C++ compiler built them. How a layer is cut up inside this path (one compiled
  pass per layer, or projection + compiled scan, and the first layer's table lookup) is
  a shape strategy of run_stack, not another path;
- ``LIBRARY``: torch's ``nn.RNN``/``nn.LSTM``/``nn.GRU`` (oneDNN's fused LSTM on CPUs, cuDNN
  on GPUs): on packed sequences on CPUs, over the padded batch elsewhere (padded.py);
- ``REFERENCE``: autograd over the textbook cell, one Python step at a time (cells.run_cell):
  the maths as written, and what the textbook cell architectures are for;
- ``STEP_COMPILED``: the cell architectures' reference loop with each step's gate maths
  compiled by torch.compile (step_compile.py): their path on CUDA with Triton.

:func:`choose_plan` is the one place that chooses. build_model plans every recurrence for
the device it is built for (train/loop.py builds for the training device); the forward
passes only dispatch on the stored plan, so what metrics.json records is what ran.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import torch

from rnnbench.models import native, step_compile
from rnnbench.names import (
    EXEC_COMPILED,
    EXEC_CUDNN,
    EXEC_ONEDNN,
    EXEC_PYTHON,
    EXEC_TORCH,
    UNPACKED,
)


class Path(StrEnum):
    COMPILED = "compiled"
    LIBRARY = "library"
    REFERENCE = "reference"
    STEP_COMPILED = "step_compiled"  # the GPU path of the cells: models/step_compile.py


# Recurrences torch has a module for; the LSTM variants that only the compiled LSTM kernel
# runs fast (torch has no peephole or coupled-gate LSTM). Any other kind is a textbook cell.
LIBRARY_KINDS = ("rnn", "lstm", "gru")
COMPILED_VARIANTS = ("lstm_peephole", "lstm_cifg")


@dataclass(frozen=True)
class Plan:
    """How one recurrence (all its layers) runs on the device it was planned for."""

    path: Path
    label: str  # what computes it, as metrics.json's hardware.exec_path records it
    unpacked: bool = False  # LIBRARY: torch's kernels over the padded batch, no packing


def fastest_path(kind: str, layers: int, directions: int, device: torch.device) -> Path:
    """The fastest exact path for a recurrence, as measured (bench/RESULTS.md, "Execution
    plan"; 2 threads on the Intel Xeon).

    - GPUs: torch's cuDNN kernels; the cell architectures (no cuDNN kernel) their loop
      with each step compiled (step_compile.py), the reference loop without Triton;
    - CPUs with the compiled kernels: those, for every kind. torch's CPU modules read
      packed sequences, and with rows of different lengths (real text) even oneDNN's
      LSTM falls back to a per-step loop: at seed A with 30% of rows shorter, 1.1k
      samples/s against the compiled kernels' 8.9k (equal, 9.3-9.6k, only when every row
      is full length);
    - CPUs without a compiler: torch's module for LSTMs (oneDNN on full-length batches),
      the reference loop for RNNs and GRUs, whose torch modules run one autograd node per
      step and gate (2.2-2.5x slower at seed A).
    """
    if kind in step_compile.KINDS and step_compile.available(device):
        return Path.STEP_COMPILED  # GPUs: the cells' loop with each step compiled
    compiled = device.type == "cpu" and native.available()
    if kind in COMPILED_VARIANTS:
        return Path.COMPILED if compiled else Path.REFERENCE
    if kind not in LIBRARY_KINDS:
        return Path.REFERENCE
    if device.type != "cpu":
        return Path.LIBRARY
    if compiled:
        return Path.COMPILED
    return Path.LIBRARY if kind == "lstm" else Path.REFERENCE


def choose_plan(
    kind: str, layers: int, directions: int, device: torch.device, path: Path | None = None
) -> Plan:
    """The plan of a recurrence of ``kind`` ("rnn", "lstm", "gru", an LSTM variant in
    COMPILED_VARIANTS, or a textbook cell's name) on ``device``: the fastest path, or
    ``path`` where one is forced (the tests, the benchmark's torch-module column), checked
    to exist for this kind and device."""
    chosen = fastest_path(kind, layers, directions, device) if path is None else Path(path)
    if chosen is Path.COMPILED:
        if kind not in LIBRARY_KINDS + COMPILED_VARIANTS:
            raise ValueError(f"{kind} has no compiled kernel")
        if device.type != "cpu" or not native.available():
            raise ValueError(f"no compiled kernels on {device}: {native.describe()}")
        return Plan(Path.COMPILED, EXEC_COMPILED)
    if chosen is Path.LIBRARY:
        if kind not in LIBRARY_KINDS:
            raise ValueError(f"torch has no module for {kind}")
        return Plan(Path.LIBRARY, _library_label(kind, device), unpacked=device.type != "cpu")
    if chosen is Path.STEP_COMPILED:
        if kind not in step_compile.KINDS:
            raise ValueError(f"{kind} is no cell architecture: no compiled step")
        return Plan(Path.STEP_COMPILED, step_compile.EXEC_STEP_COMPILED)
    return Plan(Path.REFERENCE, EXEC_PYTHON)


def _library_label(kind: str, device: torch.device) -> str:
    """What a torch nn.RNN/LSTM/GRU module runs on: cuDNN on GPUs (when enabled), and on
    CPUs oneDNN's fused kernel for LSTMs (torch has none for RNN and GRU)."""
    if device.type == "cuda":
        cudnn = torch.backends.cudnn
        label = EXEC_CUDNN if cudnn.enabled and cudnn.is_available() else EXEC_TORCH
    else:
        mkldnn = torch.backends.mkldnn
        onednn = kind == "lstm" and device.type == "cpu" and mkldnn.is_available()
        label = EXEC_ONEDNN if onednn and mkldnn.enabled else EXEC_TORCH
    return label + (UNPACKED if device.type != "cpu" else "")


# ---- the per-batch choice (issue 28) -------------------------------------------------


# The widest LSTM (hidden units per direction) that runs faster on oneDNN than on the
# compiled kernels over rows of one length, as measured (bench/batch_path.py).
ONEDNN_MAX_HIDDEN = 64
# The most rows a bidirectional LSTM's batch of one length may have to take oneDNN: the
# compiled kernels run the two directions side by side, and from 64 rows on they were
# at least as fast as oneDNN (bench/batch_path.py).
ONEDNN_MAX_ROWS_BIDIRECTIONAL = 32


def uniform_rows_plan(kind: str, hidden: int, device: torch.device, plan: Plan) -> Plan | None:
    """The plan a batch may take instead of ``plan`` when all its rows have the same
    length (where :func:`takes_uniform_rows_plan` says it does), or None where every
    batch keeps ``plan``. Decided with the plan, applied per batch shape
    (bodies.FusedRecurrence.plan_for_batch).

    The measured rule (bench/batch_path.py, bench/RESULTS.md "Per-batch path"; AMD EPYC
    with AVX-512, one thread per job, the workflow's default): over rows of one length,
    torch's module over the unpacked batch (oneDNN's fused LSTM) trains an LSTM of
    hidden 32-64 faster than the compiled kernels (1.05-1.5x, batch 32 and 128), and a
    BiLSTM of batch 32 (1.1-1.2x); at batch 64 the two tie on a BiLSTM, and from there
    on the compiled kernels train it as fast or faster (1.0-1.6x at batch 128), at 2
    threads faster still, since they run its directions side by side. At hidden 128 the
    two were within a few per cent. Rows of different lengths must be packed, and there
    the compiled kernels win 5-10x ("Uneven rows"). RNNs and GRUs have no oneDNN kernel:
    torch's modules lose to the compiled kernels at any lengths. Without a compiler, the
    packed module's LSTMs get the same alternative. The caller asks only for a planned
    path, not a forced one, so that a path forced for a test or a benchmark column stays
    that path for every batch. The rule reads the shape only, never the thread count, so
    that the thread count never changes a batch's path (or its rounding).
    """
    mkldnn = torch.backends.mkldnn
    onednn = mkldnn.is_available() and mkldnn.enabled
    packed = plan.path is Path.LIBRARY and not plan.unpacked
    if device.type != "cpu" or kind != "lstm" or hidden > ONEDNN_MAX_HIDDEN or not onednn:
        return None
    if plan.path is not Path.COMPILED and not packed:
        return None
    return Plan(Path.LIBRARY, EXEC_ONEDNN + UNPACKED, unpacked=True)


def takes_uniform_rows_plan(directions: int, rows: int) -> bool:
    """Whether a batch of ``rows`` rows of one length takes the recurrence's uniform-rows
    plan (:func:`uniform_rows_plan`, where it has one): always for one direction, up to
    ONEDNN_MAX_ROWS_BIDIRECTIONAL rows for two."""
    return directions == 1 or rows <= ONEDNN_MAX_ROWS_BIDIRECTIONAL
