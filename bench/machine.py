"""The machine a CPU benchmark ran on, as its results JSON records it (``"machine"``).

from machine import machine_info  # bench/, first on sys.path for a script
"""

from __future__ import annotations

import os
import platform

import torch

from rnnbench.train.report import cpu_model, cpu_vector_flags


def machine_info(load_before: list[float]) -> dict[str, object]:
    """CPU model and vector flags, thread policy, cores, versions and the load average
    before the measurement (``load_before``: ``os.getloadavg()`` rounded, read first)."""
    return {
        "cpu": cpu_model(),
        "cpu_flags": cpu_vector_flags(),
        # libgomp's wait policy (read when torch loads): on a machine whose other
        # processes keep the cores busy, PASSIVE stops a thread that waits at one of
        # torch's barriers from spinning away the time slice its partner needs.
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "logical_cores": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "load_average_before": load_before,
    }
