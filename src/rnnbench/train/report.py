"""What a run writes besides weights: NaN-safe JSON, the history table, machine facts
(the provenance of every number: host, device, execution path, TF32/AMP, versions)."""

from __future__ import annotations

import csv
import math
import os
import platform
import resource
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import torch

import rnnbench
from rnnbench.io import atomic_path, json_safe, write_json_atomic

# Keys of metrics.json that legitimately differ between two runs of the same spec; every
# other key is a function of (spec, data, threads). Tests and reports compare the rest.
NONDETERMINISTIC_KEYS: tuple[str, ...] = (
    "seconds_per_epoch",
    "samples_per_second",
    "total_seconds",
    "peak_rss_mb",
    "peak_gpu_mb",
    "resumed_from_epoch",
    "hardware",
)


def write_metrics(path: str | Path, metrics: dict[str, Any]) -> None:
    write_json_atomic(path, json_safe(metrics))


def write_history(path: str | Path, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    """One row per epoch; a missing or non-finite value is an empty cell."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({key: _cell(row.get(key)) for key in columns})


def _cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    return value


def peak_rss_mb() -> float:
    """Peak resident memory of this process (MiB)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    peak_bytes = peak if sys.platform == "darwin" else peak * 1024
    # Fall back to the current RSS where ru_maxrss is unavailable (reported as 0).
    return max(peak_bytes, psutil.Process().memory_info().rss) / 2**20


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# The vector instruction sets the compiled kernels (-march=native) and oneDNN choose by.
VECTOR_FLAGS = ("avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16")


def cpu_vector_flags() -> list[str]:
    """The CPU's vector flags among VECTOR_FLAGS and any AMX flag, as /proc/cpuinfo lists
    them (empty where it cannot be read): what a speed figure's CPU could use."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            flags = next(
                (line.split(":", 1)[1].split() for line in handle if line.startswith("flags")), []
            )
    except OSError:
        return []
    amx = sorted(flag for flag in flags if flag.startswith("amx"))
    return [flag for flag in VECTOR_FLAGS if flag in flags] + amx


def hardware(
    device: torch.device,
    *,
    exec_layers: Sequence[str] = (),
    exec_path: str | None = None,
    exec_plan: Sequence[str] = (),
    exec_batches: dict[str, float] | None = None,
    amp_dtype: torch.dtype | None = None,
) -> dict[str, Any]:
    """Where and how a run computed: metrics.json's ``hardware``.

    - ``cpu_model``, ``cpu_cores``, ``torch_threads``, ``platform``: the host;
    - ``device`` ("cpu", "cuda:0"), ``gpu`` (its name, None on CPU) and ``device_name``:
      the name of what computed, the GPU's on a GPU and the CPU model's otherwise (runs.csv
      and the comparison tables compare machines by it);
    - ``exec_path``: what ran the recurrent layers (models.bodies.execution_path, e.g.
      "compiled kernels", "torch module (oneDNN)", "cuDNN", "Python loops"), and
      ``exec_layers`` the same per recurrent layer, bottom up; ``exec_plan`` each layer's
      path as planned (models/plan.py): "compiled", "library" or "reference";
      ``exec_batches`` the share of training batches each path computed where a
      recurrence chooses per batch (an LSTM's rows of one length may take oneDNN:
      models.bodies.batch_shares; the batches this process trained, so a resumed run's
      from its resumption), else {};
    - ``tf32``: {"matmul", "cudnn"}, torch's allow_tf32 switches as the run left them
      (hparams.tf32 sets both; on a GPU only, None on a CPU where TF32 does not apply),
      and ``amp_dtype`` ("bfloat16", "float16") when autocast was on (hparams.amp, on any
      device), else None.
    """
    cpu = cpu_model()
    on_gpu = device.type == "cuda"
    gpu = torch.cuda.get_device_name(device) if on_gpu else None
    tf32 = None
    if on_gpu:
        tf32 = {
            "matmul": bool(torch.backends.cuda.matmul.allow_tf32),
            "cudnn": bool(torch.backends.cudnn.allow_tf32),
        }
    info: dict[str, Any] = {
        "cpu_model": cpu,
        "cpu_cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": str(device),
        "gpu": gpu,
        "device_name": gpu if on_gpu else cpu,
        "platform": platform.platform(),
        "exec_path": exec_path,
        "exec_layers": list(exec_layers),
        "exec_plan": list(exec_plan),
        "exec_batches": dict(exec_batches or {}),
        "tf32": tf32,
        "amp_dtype": str(amp_dtype).removeprefix("torch.") if amp_dtype else None,
    }
    return info


def versions(device: torch.device | None = None) -> dict[str, str | None]:
    """Python, torch, numpy and rnnbench versions; cuDNN's on a GPU (None otherwise)."""
    on_gpu = device is not None and device.type == "cuda"
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "rnnbench": rnnbench.__version__,
        "cudnn": str(torch.backends.cudnn.version()) if on_gpu else None,
    }
