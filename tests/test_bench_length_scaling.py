"""bench/length_scaling.py and the new architectures in bench/ at tiny sizes.

Behaviour only: the structure of what the scripts record and render, and the analytic
FLOP count against torch's own count; no test asserts wall-clock time.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import length_scaling  # noqa: E402
import make_results  # noqa: E402
import train_throughput  # noqa: E402
from shapes import SHAPES  # noqa: E402

TINY = {"hidden": 8, "layers": 1, "head_hidden": 0, "heads": 2, "ff_hidden": 16}
ARCHS = ["lstm", "mingru", "transformer"]


@pytest.fixture(scope="module")
def result() -> dict:
    return length_scaling.measure(
        ARCHS, [5, 10], hparams=TINY, warmup=1, windows=1, window_seconds=0.0
    )


def test_measure_records_every_cell_and_the_machine(result: dict) -> None:
    rows = result["results"]
    assert [(row["arch"], row["length"]) for row in rows] == [
        (arch, length) for arch in ARCHS for length in (5, 10)
    ]
    for row in rows:
        assert row["ms_per_batch"] > 0 and row["samples_per_second"] > 0
        assert row["windows"] == 1 and row["batches_per_window"] == 1
        assert row["spread_ms"][0] <= row["ms_per_batch"] <= row["spread_ms"][1]
        assert len(row["load_average"]) == 3
    by_arch = {row["arch"]: row for row in rows}
    # Clipping follows the registry: on for the recurrent archs, off for the transformer.
    assert by_arch["lstm"]["clip_norm"] == 1.0 and by_arch["mingru"]["clip_norm"] == 1.0
    assert by_arch["transformer"]["clip_norm"] is None
    assert by_arch["transformer"]["computed_by"].startswith("torch ops")
    assert result["setup"]["lengths"] == [5, 10] and result["setup"]["batch"] == 32
    assert result["threads"] == torch.get_num_threads()
    assert set(result["machine"]) >= {"cpu", "torch", "load_average_at_start"}
    json.dumps(result)  # what main writes


def test_table_and_results_section(result: dict, tmp_path: Path) -> None:
    table = make_results.length_scaling_table(result)
    assert table[0].startswith("| arch | L = 5 | L = 10 | time ratio 10 vs 5 |")
    assert [line.split(" | ")[0] for line in table[2:-1]] == [f"| {a}" for a in ARCHS]
    assert all(line.count("ms (") == 2 for line in table[2:-1])
    (tmp_path / "length_scaling.json").write_text(json.dumps(result))
    page = make_results.render(tmp_path)
    assert "## Training time vs sequence length (memory task)" in page
    assert table[0] in page
    assert make_results.render(tmp_path / "none").count(make_results.LENGTH_CMD) >= 2


def test_missing_cell_renders_a_dash(result: dict) -> None:
    partial = {**result, "results": [r for r in result["results"] if r["length"] != 10]}
    row = make_results.length_scaling_table(partial)[2]
    assert row.count(make_results.DASH) == 2  # the L=10 cell and the ratio


@pytest.mark.parametrize("arch", ["transformer", "mingru", "biminlstm"])
def test_flops_match_torchs_count(arch: str) -> None:
    """The analytic forward count against FlopCounterMode on a tiny seed-A model. torch
    does not count CPU attention (scaled_dot_product_attention) here, so the
    transformer's two L x L x width products are added to its count."""
    shape = replace(SHAPES["seed-a"], batch=2, length=12, layers=2)
    model = train_throughput.make_model(arch, shape)
    x = torch.randint(2, shape.vocab, (shape.batch, shape.length))
    with FlopCounterMode(display=False) as counter:
        model(x, torch.full((shape.batch,), shape.length))
    counted = counter.get_total_flops() / shape.batch
    ours = train_throughput.forward_matmul_flops(arch, shape)
    attention = 2 * 2 * shape.length**2 * shape.hidden * shape.layers
    assert ours in ({counted, counted + attention} if arch == "transformer" else {counted})


def test_unknown_arch_has_no_flops_and_renders_a_dash() -> None:
    assert train_throughput.forward_matmul_flops("no_such_arch", SHAPES["seed-a"]) is None
    row = {"arch": "x", "params": 1, "flops_per_sample": None}
    row["rnnbench"] = {"samples_per_second": 10.0, "spread": [9.0, 11.0]}
    line = make_results.shape_table([row], 100.0)[2]
    assert line.endswith(f"| {make_results.DASH} | {make_results.DASH} |")
