"""bench/gpu_check.sh and the GPU section of bench/RESULTS.md, without a GPU.

Behaviour only: the script parses, its CPU dry mode is one flag away (GPU_CHECK_DRY=1,
run by hand: it takes minutes on a busy CPU), gpu_bench's measurements run at toy sizes
on a CPU, and make_results renders what gpu_check writes, errors and gaps included. No
figure here is a GPU measurement.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import gpu_bench  # noqa: E402
import make_results  # noqa: E402

INFO = {"device": "NVIDIA H200", "torch": "2.11.0+cu130", "cudnn": 91200, "tf32": False}


def test_gpu_check_script_parses() -> None:
    subprocess.run(["bash", "-n", str(BENCH / "gpu_check.sh")], check=True)


def test_bucketed_timing_runs_on_a_cpu_and_a_graph_fails_with_its_reason() -> None:
    args = SimpleNamespace(batch=4, buckets=2, windows=1, steps=2)
    row = gpu_bench.time_bucketed("gru", "padded", "eager", args)
    assert row["buckets"] == [60, 120] and row["samples_per_s"] > 0
    failed = gpu_bench._or_error(gpu_bench.time_bucketed, "gru", "padded", "graph", args)
    assert failed["mode"] == "graph" and "CUDA" in failed["error"]


def _write(folder: Path, name: str, rows: list[dict]) -> None:
    (folder / f"{name}.json").write_text(json.dumps({"info": INFO, "results": rows}))


def test_gpu_section_renders_rows_errors_and_targets(tmp_path: Path) -> None:
    assert make_results.GPU_CMD in make_results.render(tmp_path)  # nothing measured yet
    eager = [
        {"arch": a, "impl": "padded", "mode": "eager", "amp": None, "samples_per_s": 31_000.0}
        for a in make_results.GPU_FUSED
    ]
    _write(tmp_path, "gpu_cell", eager)
    graph = [{"arch": "lstm", "impl": "padded", "mode": "graph", "error": "RuntimeError('x')"}]
    _write(tmp_path, "gpu_graph", graph)
    _write(
        tmp_path,
        "gpu_cells",
        [
            {"arch": a, "impl": "padded", "mode": "eager", "amp": None, "samples_per_s": 9_000.0}
            for a in ("lstm_peephole", "lstm_cifg")
        ],
    )
    k_rows = [
        {"k": k, "arch": "lstm", "total": total, "cells_per_hour": total * 3600 / 225_000}
        for k, total in ((1, 10_000.0), (8, 60_000.0))
    ]
    _write(tmp_path, "gpu_k_cells", k_rows)
    page = make_results.render(tmp_path)
    assert "Measured on NVIDIA H200" in page
    assert "| lstm | 31,000 | – | – | – | error: RuntimeError('x') |" in page
    assert "| lstm_peephole | 9,000 | – |" in page
    assert "| 8 | 60,000 | 6.00x | 960.0 |" in page
    assert "each fused arch | 31,000, 31,000, 31,000, 31,000 | yes |" in page
    assert "| peephole and CIFG ≥ 0.5 × the fused LSTM | 0.29x | no |" in page
    assert "the best K | 6.00x | yes |" in page
    assert "where the shapes allow | –, –, –, – | not measured |" in page
