"""Regenerate bench/RESULTS.md from the JSON files the benchmark scripts write.

    python bench/data_stage.py
    python bench/train_throughput.py --threads 2
    python bench/workflow_scale.py
    python bench/length_scaling.py --threads 2
    python bench/make_results.py [--results bench/results] [--out bench/RESULTS.md]

Each JSON is optional: a missing one renders as "not measured" with the command that
measures it. bench/limits.md, if it exists, is included verbatim as the last section.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shapes import RECURRENT, SHAPES  # bench/, first on sys.path for a script

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
LIMITS = BENCH / "limits.md"

DATA_STAGE_CMD = "python bench/data_stage.py"
THROUGHPUT_CMD = "python bench/train_throughput.py --threads 2"
WORKFLOW_CMD = "python bench/workflow_scale.py"
LENGTH_CMD = "python bench/length_scaling.py --threads 2"
EXEC_PLAN_CMD = "python bench/exec_plan.py (collates paired bench/train_throughput.py runs)"
BATCHING_CMD = "python bench/batching.py"
UNEVEN_CMD = "python bench/uneven_rows.py --threads 2"
ROUND2_CMD = "python bench/train_throughput.py --threads 2 --shapes seed-a --no-naive --out bench/results/train_throughput_round2.json"
ISSUE28_CMD = "python bench/train_throughput.py --threads 2 --shapes seed-a --no-naive"
ISSUE28_ROUNDS = ("train_throughput_issue28_round1", "train_throughput_issue28_round2")
BATCH_PATH_CMD = "python bench/batch_path.py --threads 2"
BATCH_PATH_T1_CMD = (
    "python bench/batch_path.py --threads 1 --out bench/results/batch_path_threads1.json"
)
LAYER_PATH_CMD = "python bench/layer_path.py --threads N"
# The check an Intel (or any other) machine runs for issue 28's targets.
CHECK_CMD = (
    "for round in 1 2; do python bench/train_throughput.py --threads 2 --shapes seed-a "
    "--no-naive --out bench/results/train_throughput_issue28_round$round.json; done && "
    "python bench/make_results.py"
)
# minGRU/minLSTM (and their bidirectional variants) against the LSTM they should beat.
MIN_VS = {"mingru": "lstm", "minlstm": "lstm", "bimingru": "bilstm", "biminlstm": "bilstm"}
CELL_COST_CMD = (
    "python bench/cell_cost.py --name NAME --configs CONFIG... (one entry per experiment)"
)
RUNS_EQUALITY_CMD = (
    "python bench/runs_equality.py LABEL BEFORE_WORKDIR AFTER_WORKDIR --note TEXT "
    "(two clones where `make run` finished)"
)
CORE_EQUALITY_CMD = (
    "python bench/ab_cells.py OLD_SRC NEW_SRC WORKDIR OUT 'SPEC' ... "
    "--json bench/results/core_equality.json"
)
MAIN_JOB_CMD = (
    "python bench/main_job.py --preset quick kovac2023 kobylin2024 holodnikov2024 karanik"
)

DASH = "–"
KERAS_FACTOR = 1.5
SEED_C_ARCHS = SHAPES["seed-c"].archs
NAIVE_FACTOR = 5.0
CELL_ARCHS = ("lstm_peephole", "lstm_cifg")
FUSED_FACTOR = 0.5
GRID_CELLS = 500

SHAPE_TEXT = {
    "seed-a": (
        "Seed A",
        "bidirectional for birnn/bilstm/bigru/bimingru/biminlstm, one logit, Adam, BCE, "
        "gradient clipping 1.0 for recurrent models (minGRU/minLSTM included, not the "
        "transformer: the registry's default); every architecture, the transformer with "
        "its defaults (model width = hidden, 4 heads, feed-forward 4 x hidden, sinusoidal "
        "positions, mean pooling)",
    ),
    "seed-c": ("Seed C", "a linear head, Adam, BCE, gradient clipping 1.0"),
}

Result = dict[str, Any]


def load(results: Path, name: str) -> Result | None:
    path = results / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def not_measured(command: str) -> list[str]:
    return [f"_not measured: run `{command}`_", ""]


def yes_no(ok: bool | None) -> str:
    return "not measured" if ok is None else ("yes" if ok else "no")


def rate(variant: Result | None) -> float | None:
    return None if variant is None else variant["samples_per_second"]


def fmt_int(value: float | None) -> str:
    return DASH if value is None else f"{value:,.0f}"


def ratio(num: float | None, den: float | None) -> float | None:
    return None if num is None or den is None or den == 0 else num / den


def fmt_ratio(value: float | None) -> str:
    return DASH if value is None else f"{value:.2f}x"


def fmt_runs(timing: Result | None) -> str:
    """``{"median": m, "runs": [...]}`` as "m s (runs a, b, c)"."""
    if timing is None:
        return DASH
    runs = ", ".join(f"{run:.2f}" for run in timing["runs"])
    return f"{timing['median']:.2f} s (runs: {runs})"


def machine_line(result: Result, *extra: str) -> str:
    """One line: date, CPU, cores, Python, torch and whatever the section adds."""
    machine = result.get("machine", {})
    parts = [
        machine.get("cpu"),
        f"{machine['logical_cores']} logical cores" if "logical_cores" in machine else None,
        f"Python {machine['python']}" if "python" in machine else None,
        f"torch {machine['torch']}" if "torch" in machine else None,
        f"flags {' '.join(machine['cpu_flags'])}" if machine.get("cpu_flags") else None,
        f"OMP_WAIT_POLICY={machine['omp_wait_policy']}" if machine.get("omp_wait_policy") else None,
        *extra,
    ]
    return f"Measured {result.get('date', '?')} on " + ", ".join(p for p in parts if p) + "."


# --- data stage ------------------------------------------------------------------------


def data_stage_section(result: Result | None) -> list[str]:
    if result is None:
        return not_measured(DATA_STAGE_CMD)
    ok_wall = result["wall_seconds"] <= result["targets"]["wall_seconds"]
    ok_rss = result["peak_rss_gib"] <= result["targets"]["peak_rss_gib"]
    return [
        machine_line(result, f"`--cores {result['cores']}`"),
        "",
        "| measure | value | target | met |",
        "|---|---|---|---|",
        f"| wall time, fresh `prepare` | {result['wall_seconds']} s | <= {result['targets']['wall_seconds']} s | {yes_no(ok_wall)} |",
        f"| peak RSS, whole process tree | {result['peak_rss_gib']} GiB | <= {result['targets']['peak_rss_gib']} GiB | {yes_no(ok_rss)} |",
        f"| no-op rerun | {result['noop_rerun_seconds']} s | | |",
        "",
        "Examples per split: "
        + "; ".join(f"{name} {counts}" for name, counts in result["examples"].items()),
        "",
    ]


# --- training throughput ---------------------------------------------------------------


def shape_setup_text(name: str, setup: Result) -> str:
    layers = setup["layers"]
    stack = f"{layers} stacked layers of hidden {setup['hidden']}" if layers > 1 else None
    parts = [
        f"vocab {setup['vocab']:,}",
        f"embedding {setup['embedding_dim']}",
        stack or f"hidden {setup['hidden']}",
        f"length {setup['length']}",
        f"batch {setup['batch']:,}",
    ]
    if setup.get("head_hidden"):
        parts.append(f"Dense({setup['head_hidden']}) head")
    extra = SHAPE_TEXT.get(name, (name, ""))[1]
    return (
        ", ".join(parts)
        + (f"; {extra}" if extra else "")
        + f". Each samples/s is the median over {setup['windows']} timed windows of "
        f"{setup['batches']} batch(es) after {setup['warmup']} warm-up batch(es); the "
        "min-max spread over windows is in the JSON."
    )


def shape_table(rows: list[Result], peak: float | None) -> list[str]:
    lines = [
        "| arch | params (rnnbench / keras) | rnnbench samples/s | torch module | naive loop "
        "| Keras 3 | rnnbench ÷ Keras | rnnbench ÷ naive | model GFLOP/s | % of matmul peak |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        ours = rate(row.get("rnnbench"))
        keras = row.get("keras")
        flops = row.get("flops_per_sample")  # None: an architecture the count does not know
        gflops = None if ours is None or flops is None else flops * ours / 1e9
        share = f"{100 * gflops / peak:.1f}%" if gflops is not None and peak else DASH
        params = f"{row['params']:,} / " + (f"{keras['params']:,}" if keras else DASH)
        lines.append(
            f"| {row['arch']} | {params} | {fmt_int(ours)} "
            f"| {fmt_int(rate(row.get('torch_module')))} "
            f"| {fmt_int(rate(row.get('naive_loop')))} | {fmt_int(rate(keras))} "
            f"| {fmt_ratio(ratio(ours, rate(keras)))} "
            f"| {fmt_ratio(ratio(ours, rate(row.get('naive_loop'))))} "
            f"| {DASH if gflops is None else f'{gflops:.2f}'} | {share} |"
        )
    return [*lines, ""]


def throughput_section(result: Result | None) -> list[str]:
    if result is None:
        return not_measured(THROUGHPUT_CMD)
    if "shapes" not in result:
        return [
            "_not measured: `train_throughput.json` has an older layout; rerun "
            f"`{THROUGHPUT_CMD}`_",
            "",
        ]
    peak = result.get("matmul_peak_gflops")
    lines = [
        machine_line(
            result,
            f"{result['threads']} thread(s)",
            f"fp32 matmul peak {peak} GFLOP/s (2048 x 2048, same threads)",
        ),
        "",
        "Variants, timed in one process at the same thread count: **rnnbench** (its "
        "compiled kernels: whole compiled layers for bidirectional layers and the seed-C "
        "stacks, whose first layer looks its projection up per token; projection + scan "
        "for the unidirectional seed-A RNN/GRU/LSTM, as the model's plan picks: "
        "models/plan.py); **torch "
        "module**, the same model computed by torch's `nn.RNN`/`nn.LSTM`/`nn.GRU` on "
        "packed sequences; **naive loop**, a per-step Python loop over the cell (bench/naive_loop.py); **Keras 3** on "
        "TensorFlow CPU, the same model in a subprocess from its own venv "
        "(bench/keras_env.py installs it). The transformer and minGRU/minLSTM (log-space "
        "parallel scan in torch ops) have no torch-module, naive-loop or Keras twin: "
        "rnnbench only. Every batch is full length, random ids and labels. "
        "Model GFLOP/s counts the matrix products of forward + backward (3x forward) "
        "analytically, times rnnbench's samples/s.",
        "",
        f"Scan kernels: {result.get('recurrent_kernels', 'not recorded')}.",
        "",
        f"Keras side: {result.get('keras', 'not recorded')}.",
        "",
    ]
    for name in ("seed-a", "seed-c"):
        title = SHAPE_TEXT[name][0]
        lines += [f"### {title}", ""]
        shape = result["shapes"].get(name)
        if shape is None:
            lines += not_measured(f"{THROUGHPUT_CMD} --shapes {name}")
            continue
        lines += [shape_setup_text(name, shape["setup"]), "", *shape_table(shape["results"], peak)]
    return lines


# --- length scaling --------------------------------------------------------------------


def length_scaling_table(result: Result) -> list[str]:
    """Rows = archs, columns = lengths (ms per batch and samples/s), then the time ratio
    of the longest length to the shortest."""
    lengths = result["setup"]["lengths"]
    cells = {(row["arch"], row["length"]): row for row in result["results"]}
    first, last = min(lengths), max(lengths)
    header = " | ".join(f"L = {length:,}" for length in lengths)
    lines = [
        f"| arch | {header} | time ratio {last:,} vs {first:,} | computed by |",
        "|---|" + "---:|" * (len(lengths) + 1) + "---|",
    ]
    for arch in result["setup"]["archs"]:
        parts = []
        for length in lengths:
            row = cells.get((arch, length))
            parts.append(
                DASH
                if row is None
                else f"{row['ms_per_batch']:,.1f} ms ({row['samples_per_second']:,.0f}/s)"
            )
        short, long = cells.get((arch, first)), cells.get((arch, last))
        growth = (
            None
            if short is None or long is None
            else ratio(long["ms_per_batch"], short["ms_per_batch"])
        )
        path = next((row["computed_by"] for (a, _), row in cells.items() if a == arch), DASH)
        lines.append(
            f"| {arch} | {' | '.join(parts)} | "
            f"{DASH if growth is None else f'{growth:.1f}x'} | {path} |"
        )
    return [*lines, ""]


def model_text(hp: Result) -> str:
    """The model keys of a length-scaling run, in words (the keys it recorded)."""
    words = {
        "hidden": "hidden {}",
        "layers": "{} layer(s)",
        "head_hidden": "head hidden {} (0: the logit reads the body)",
        "init": "init {}",
        "heads": "transformer: {} heads",
        "ff_hidden": "feed-forward {}",
        "positions": "{} positions",
        "pooling": "{} pooling",
    }
    return ", ".join(text.format(hp[key]) for key, text in words.items() if key in hp)


def length_scaling_section(result: Result | None) -> list[str]:
    if result is None:
        return not_measured(LENGTH_CMD)
    setup, machine = result["setup"], result.get("machine", {})
    hp = setup["hparams"]
    load = machine.get("load_average_at_start")
    extra = [f"{result['threads']} thread(s)"]
    if load:
        extra.append(f"load average at start {', '.join(str(x) for x in load)}")
    if machine.get("load_average_at_end"):
        end = ", ".join(str(x) for x in machine["load_average_at_end"])
        extra.append(
            f"at end {end} (this benchmark's own {result['threads']} thread(s) count in it)"
        )
    lengths = setup["lengths"]
    return [
        machine_line(result, *extra),
        "",
        f"Seed B's memory task (scalar inputs), presets/modern.yaml's memory model "
        f"({model_text(hp)}). One full-length batch of "
        f"{setup['batch']}; a training step is forward + backward + clipping (recurrent "
        f"archs, norm 1) + Adam, as `rnnbench train` runs it. Each cell is the median over "
        f"up to {setup['windows']} windows of ~{setup['window_seconds']:g} s (at least one "
        f"step; steps over {setup['long_step_seconds']:g} s get 3 windows) after "
        f"{setup['warmup']} warm-up steps; the spread and each cell's load average are in "
        "the JSON. Cells: ms per batch (samples/s). A cost linear in the length gives a "
        f"time ratio of {max(lengths) / min(lengths):g}x.",
        "",
        *length_scaling_table(result),
    ]


# --- execution plan before/after (issue 17) and length-bucketed batches -----------------


def exec_plan_section(result: Result | None) -> list[str]:
    if result is None:
        return not_measured(EXEC_PLAN_CMD)
    loads = "; ".join(result.get("loads", [])) or "not recorded"
    lines = [
        machine_line(result, f"{result['threads']} thread(s)"),
        "",
        f"`bench/train_throughput.py --no-keras --no-naive` of {result['before_commit']} "
        f"(before: `impl=` resolved in every forward, Python scan loops and the layer "
        f"wavefront as the no-compiler fallback) and {result['after_commit']} (after: one "
        "plan per recurrence, decided when the model is built: compiled, library or "
        "reference), alternated ABBA at seed A and one round each at seed C. rnnbench "
        "samples/s per run; the ratio is of the medians. Load average (1, 5, 15 min) before "
        f"each run: {loads}.",
        "",
        "| shape | arch | before | after | after ÷ before |",
        "|---|---|---:|---:|---:|",
    ]
    for row in result["compiled"]:
        before = " / ".join(fmt_int(v) for v in row["before"])
        after = " / ".join(fmt_int(v) for v in row["after"])
        lines.append(
            f"| {row['shape']} | {row['arch']} | {before} | {after} | {row['ratio']:.2f}x |"
        )
    lines += ["", *(f"- {note}" for note in result.get("notes", []))]
    if result.get("no_compiler"):
        lines += [
            "",
            "Without a C++ compiler (`RNNBENCH_NATIVE=0`): the removed fallback (Python scan "
            "loops at seed A, layer wavefront for seed C's deep stacks; measured on the old "
            "commit) against what runs now (the reference loop for RNN/GRU and the "
            "peephole/CIFG LSTMs, torch's module for LSTMs). The cost of removing them.",
            "",
            "| shape | arch | old fallback | now | now ÷ old |",
            "|---|---|---:|---:|---:|",
        ]
        for row in result["no_compiler"]:
            old, new = row["old_fallback"], row["new_fallback"]
            lines.append(
                f"| {row['shape']} | {row['arch']} | {fmt_int(old)} | {fmt_int(new)} "
                f"| {fmt_ratio(ratio(new, old))} |"
            )
    return [*lines, ""]


def measured_line(result: Result) -> str:
    """machine_line with the thread count and the load average before the run."""
    load = ", ".join(str(x) for x in result["machine"].get("load_average_before", []))
    return machine_line(result, f"{result['threads']} thread(s)", f"load average before {load}")


def batching_section(result: Result | None) -> list[str]:
    if result is None:
        return not_measured(BATCHING_CMD)
    data, setup = result["data"], result["setup"]
    lines = [
        measured_line(result),
        "",
        f"{data['dataset']} at length {data['length']} ({data['train_rows']:,} training rows, "
        f"mean length {data['mean_row_length']:g}), embedding {setup['embedding_dim']}, "
        f"hidden {setup['hidden']}, batch {setup['batch_size']}, {setup['optimizer']} "
        f"{setup['lr']:g}; {setup['windows']} alternating windows of "
        f"{setup['steps_per_window']} steps per batching. `by_length` sorts rows by length "
        f"within windows of {setup['bucket_window']} batches, so a batch runs as many steps "
        "as its longest row needs.",
        "",
        "| arch | padded steps per row (shuffled → by_length) | shuffled samples/s "
        "| by_length samples/s | speedup |",
        "|---|---|---:|---:|---:|",
    ]
    for row in result["results"]:
        plain, sorted_ = row["shuffled"], row["by_length"]
        lines.append(
            f"| {row['arch']} | {plain['padded_steps_per_row']:g} → "
            f"{sorted_['padded_steps_per_row']:g} | {fmt_int(plain['samples_per_second'])} "
            f"| {fmt_int(sorted_['samples_per_second'])} | {row['speedup']:.2f}x |"
        )
    return [*lines, ""]


def uneven_rows_section(result: Result | None) -> list[str]:
    if result is None:
        return not_measured(UNEVEN_CMD)
    setup = result["setup"]
    lines = [
        measured_line(result),
        "",
        f"Seed A's shape (length {setup['length']}, batch {setup['batch']}, embedding "
        f"{setup['embedding_dim']}, hidden {setup['hidden']}), each path forced, and as planned; full-length "
        "rows vs uneven rows (30% shorter). torch's CPU modules read packed sequences and, "
        "on uneven rows, fall back to a per-step loop. samples/s:",
        "",
        "| arch | rows | compiled | library (torch module) | reference loop | as planned "
        "(issue 28: per batch) |",
        "|---|---|---:|---:|---:|---|",
    ]
    for row in result["results"]:
        planned = DASH
        if "planned" in row:
            planned = f"{fmt_int(row['planned'])} ({row['planned_path']})"
        lines.append(
            f"| {row['arch']} | {row['rows']} | {fmt_int(row['compiled'])} "
            f"| {fmt_int(row['library'])} | {fmt_int(row['reference'])} | {planned} |"
        )
    return [*lines, ""]


def keras_rounds_section(rounds: list[Result]) -> list[str]:
    """rnnbench ÷ Keras per recurrent arch at seed A, one column per round (issue 18)."""
    if not rounds:
        return not_measured(THROUGHPUT_CMD)
    by_round = []
    for result in rounds:
        rows = {r["arch"]: r for r in result["shapes"]["seed-a"]["results"]}
        by_round.append(rows)
    header = " | ".join(f"round {i + 1}" for i in range(len(rounds)))
    lines = [
        machine_line(rounds[0], f"{rounds[0]['threads']} thread(s)"),
        "",
        f"Seed A, rnnbench ÷ Keras 3 on TensorFlow CPU, every recurrent architecture, each "
        f"round a separate `{THROUGHPUT_CMD}` (round 2: `{ROUND2_CMD}`). Target: at least "
        "1.5x in every round.",
        "",
        f"| arch | {header} |",
        "|---|" + "---:|" * len(rounds),
    ]
    for arch in ("rnn", "lstm", "gru", "birnn", "bilstm", "bigru"):
        cells = []
        for rows in by_round:
            row = rows.get(arch, {})
            cells.append(fmt_ratio(ratio(rate(row.get("rnnbench")), rate(row.get("keras")))))
        lines.append(f"| {arch} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def _issue28_cells(rows: dict[str, Result], arch: str) -> tuple[list[str], bool | None]:
    """One round's cells for ``arch``: samples/s of rnnbench / torch module / Keras, and
    the ratios the targets read; with whether every target of the arch was met."""
    row = rows.get(arch, {})
    ours, torch_module, keras = (rate(row.get(k)) for k in ("rnnbench", "torch_module", "keras"))
    checks = []
    vs_keras, vs_torch = ratio(ours, keras), ratio(ours, torch_module)
    if vs_keras is not None:
        checks.append(vs_keras >= KERAS_FACTOR)
    if vs_torch is not None:
        checks.append(vs_torch >= 1.0)
    base = MIN_VS.get(arch)
    vs_base = ratio(ours, rate(rows.get(base, {}).get("rnnbench"))) if base else None
    if vs_base is not None:
        checks.append(vs_base >= 1.0)
    rates = " / ".join(fmt_int(v) for v in (ours, torch_module, keras))
    ratios = [fmt_ratio(vs_keras), fmt_ratio(vs_torch), fmt_ratio(vs_base)]
    return [rates, *ratios], (all(checks) if checks else None)


def issue28_section(rounds: list[Result]) -> list[str]:
    """Issue 28's targets at seed A, round by round, on the machine at hand."""
    if not rounds:
        return [*not_measured(ISSUE28_CMD), f"To check on another machine: `{CHECK_CMD}`", ""]
    machine = rounds[0].get("machine", {})
    loads = [r.get("machine", {}).get("load_average_before") or [0] for r in rounds]
    shared = []
    if max(load[0] for load in loads) > machine.get("logical_cores", 1):
        shared = [
            f"A shared machine: load averages of {', '.join(str(load[0]) for load in loads)} "
            f"on {machine.get('logical_cores')} cores at the rounds' starts, so every figure "
            "is a contended one and they move several-fold between rounds for rnnbench and "
            "Keras alike; ratios within a round (same minutes) are what compare.",
            "",
        ]
    lines = [
        machine_line(rounds[0], f"{rounds[0]['threads']} thread(s)"),
        "",
        *shared,
        f"Each round a separate `{ISSUE28_CMD} --out bench/results/<round>.json`, the rounds "
        "back to back. Targets, in every round: every recurrent architecture at least "
        f"{KERAS_FACTOR:g}x Keras 3; none slower than torch's own module on the same batches "
        "(the bench's batches are full length, so an LSTM takes the per-batch path of its "
        "rows, oneDNN, and the BiLSTM's 128 rows the compiled kernels: models/plan.py "
        "uniform_rows_plan); minGRU/minLSTM at least as fast "
        "as the LSTM, the bidirectional ones as the BiLSTM. samples/s, rnnbench / torch "
        "module / Keras 3 (– where there is no twin):",
        "",
        "| round | arch | samples/s | ÷ Keras | ÷ torch module | ÷ (Bi)LSTM | met |",
        "|---|---|---|---:|---:|---:|---|",
    ]
    for index, result in enumerate(rounds, 1):
        rows = {r["arch"]: r for r in result["shapes"]["seed-a"]["results"]}
        load_avg = result.get("machine", {}).get("load_average_before")
        for arch in (*RECURRENT, *MIN_VS):
            cells, met = _issue28_cells(rows, arch)
            lines.append(f"| {index} | {arch} | " + " | ".join(cells) + f" | {yes_no(met)} |")
        if load_avg:
            lines.append(f"| {index} | load average before | {load_avg} | | | | |")
    lines += [
        "",
        f"To check the targets on another machine (this one is AMD; for Intel): `{CHECK_CMD}`. "
        "The JSON records `OMP_WAIT_POLICY`. On a quiet machine leave it unset: with "
        "`PASSIVE`, oneDNN's LSTM, which meets a thread barrier at every time step, ran a "
        "seed-A BiLSTM's forward + backward 5x slower at 2 threads (74-97 ms against "
        "14-16 ms, AMD EPYC, 2026-12-06). On a machine that other processes keep busy, set "
        "it: torch's threads then sleep at a barrier instead of spinning away the time "
        "slice their partner thread needs, which under a load of ~15 on 2 cores made a "
        "2-thread training step 30x slower (a seed-A RNN step, 1.86 s vs 58 ms, paired). "
        "Keras' thread pool has no such barrier.",
        "",
        *ISSUE28_HISTORY,
    ]
    return lines


# What changed between the contended rounds of the morning of 2026-12-06 and the quiet
# ones after them (same machine, same day).
ISSUE28_HISTORY = [
    "How these figures came about (same AMD machine, 2026-12-06):",
    "",
    "- The first rounds ran under a load of 13-18 with `OMP_WAIT_POLICY=PASSIVE`, and "
    "met few targets; on the quiet machine, unset policy, at commit aa877b3, one round "
    "met every target but lstm's and bilstm's: bilstm 1.29x Keras and 0.85x torch's "
    "module, lstm 0.96x torch's module. Both rnnbench and the module ran the same oneDNN "
    "kernel there.",
    "- The bench timed a row's variants one after the other, rnnbench first, and the "
    "first-timed one read slow (bilstm 7,962 samples/s, windows from 3,760 to 10,013, "
    "against the module's steady 9,354). Now their windows alternate (a b, b a, ...): "
    "same batches, same minutes.",
    "- minGRU/minLSTM's compiled backward ran 15-20x its forward's time: GCC 12 had left "
    "its loop over the hidden units scalar (a struct member written through a reference, "
    "and no `omp simd`). Vectorised, with results bit for bit unchanged (float32 and "
    "float64): before, in that quiet round, mingru 22,884, minlstm 16,215, bimingru "
    "11,513, biminlstm 8,107 samples/s; after: the rounds above.",
    "- The rounds of the previous session met every target but bilstm at 1.5x Keras "
    "(1.46x and 1.34x): its full-length batches ran oneDNN, as torch's module does, and "
    "oneDNN runs the two directions one after the other, gaining little from a second "
    "thread at this size; TensorFlow runs them side by side (Keras' BiLSTM trained at "
    "0.79x its LSTM's samples/s, ours at 0.49x). Tried and not adopted then: each "
    "direction as its own oneDNN call on a Python worker thread (a direction ran 2.4x "
    "slower there than on the main thread).",
    "- What met it (this section's rounds): three changes to the compiled path, each with "
    "results bit for bit unchanged (seed-A layer outputs and every gradient compared with "
    "torch.equal). (1) The weight-gradient sums of the compiled layer (kernels.cpp "
    "outer_block) kept their accumulators on the stack, a load and a store around every "
    "product; as whole vectors they stay in registers. (2) The compiled LSTM layer stores "
    "its activated gates in the forward instead of recomputing W_ih x[t] + W_hh h[t-1] in "
    "the backward: one layer's forward + backward at seed A (1 thread) 14.1 to 12.8 ms, "
    "seed C's 16.6 to 13.9 ms, the memory task's BiLSTM 21 to 17 ms. (3) The final "
    "states' gradient is scattered straight into the kernels' [T, D, H, B] layout "
    "(recurrent.LastStates), instead of a transposing copy of a mostly-zero tensor "
    "(1.6 ms of a 20 ms BiLSTM step). The compiled kernels then trained a BiLSTM of 64 "
    "rows of one length as fast as oneDNN and of 128 rows faster (1.05-1.5x, one thread), "
    'and 1.1-1.6x faster at two threads ("Per-batch path" above), so a BiLSTM\'s batches '
    "of one length take "
    "oneDNN only up to 32 rows (models/plan.py takes_uniform_rows_plan); seed A's 128 "
    "rows take the compiled kernels. That rule changes a path, not the kernels: those "
    "batches' results equal oneDNN's in float64 and differ from them in float32 rounding.",
    "- Then two more: a unidirectional layer of 64-256 rows now runs as one compiled pass "
    "cut in two pieces (compiled_layer.layer_group) instead of MKL's projection plus the "
    'compiled scan: 1.1-1.3x faster on uneven rows at one thread and at two ("Compiled '
    'layer" above); equal in float64 and, since the sums run in another order, not bit '
    "for bit in float32. And minGRU/minLSTM read each direction's final state before "
    "reversing and concatenating the directions (bit for bit unchanged): 12% off a "
    "biminlstm step.",
    "",
]


def layer_path_section(results: list[Result | None]) -> list[str]:
    """bench/layer_path.py: how the compiled path runs a unidirectional layer."""
    measured = [r for r in results if r]
    if not measured:
        return not_measured(LAYER_PATH_CMD)
    lines = [
        "Inside the compiled path, a layer whose work splits into two or more pieces "
        "(directions x column groups) runs as one compiled pass: projection, time loop and "
        "weight gradients (compiled_layer.py); other layers as an MKL projection plus the "
        "compiled time loop (scan.py). One direction of 64-256 columns is cut into two "
        "pieces (compiled_layer.layer_group), so a unidirectional layer at these batches "
        "runs as one pass too. Batches of uneven rows (real text, the compiled path's "
        "case; lengths drawn from half to the full length), both ways alternated round by "
        "round in one process; ms per training step (median) and the one pass's speed-up "
        "per round. Which way a layer runs is decided by its shape alone, as the pieces "
        "are, so the thread count changes neither (nor the rounding).",
        "",
    ]
    for result in measured:
        lines += paired_table(
            result,
            [*SHAPE_HEADERS, "pieces:", "one pass:", "projection + scan:", ONE_PASS_ROUNDS],
            lambda row: [
                *_shape_cells(row),
                str(row["pieces"]),
                f"{row['one_pass_ms']} ms",
                f"{row['projection_scan_ms']} ms",
                _per_round(row["one_pass_speedup_per_round"]),
            ],
        )
    return lines


# A paired benchmark's shape columns (a header ending in ":" is right-aligned).
SHAPE_HEADERS = ["shape", "arch", "batch:", "length:", "hidden:"]
ONE_PASS_ROUNDS = "one pass's speed-up per round"


def _shape_cells(row: dict) -> list[str]:
    return [row["shape"], row["arch"], *(str(row[key]) for key in ("batch", "length", "hidden"))]


def _per_round(ratios: list[float]) -> str:
    return ", ".join(f"{v:.2f}x" for v in ratios)


def paired_table(
    result: Result, headers: list[str], cells: Callable[[dict], list[str]]
) -> list[str]:
    """A paired benchmark's result (bench/batch_path.py, bench/layer_path.py): its machine
    line with the thread count and the load average before and after, then one table row
    per measured shape. A header ending in ":" is a right-aligned column."""
    machine = result.get("machine", {})
    load_avg = (machine.get("load_average_before"), machine.get("load_average_after"))
    lines = [
        machine_line(
            result,
            f"{result['threads']} thread(s), load average {load_avg[0]} "
            f"before and {load_avg[1]} after",
        ),
        "",
        "| " + " | ".join(h.removesuffix(":") for h in headers) + " |",
        "|" + "|".join("---:" if h.endswith(":") else "---" for h in headers) + "|",
    ]
    lines += ["| " + " | ".join(cells(row)) + " |" for row in result["results"]]
    return [*lines, ""]


def batch_path_section(two: Result | None, one: Result | None) -> list[str]:
    """bench/batch_path.py: the per-batch rule's measurements."""
    if two is None and one is None:
        return not_measured(BATCH_PATH_CMD)
    lines = [
        "Full-length batches (every row one length), an LSTM or BiLSTM trained on the "
        "compiled kernels and on torch's module over the unpacked batch (oneDNN), "
        "alternated round by round in one process; ms per training step (median) and "
        "oneDNN's speed-up in each round. The rule in models/plan.py follows the one-thread "
        "pairs (one thread per job is the workflow's default, and the rule reads the shape "
        "only, never the thread count, so that the thread count never changes a batch's "
        "path or its rounding): oneDNN for rows of one length up to hidden "
        "ONEDNN_MAX_HIDDEN, and for a BiLSTM only up to ONEDNN_MAX_ROWS_BIDIRECTIONAL (32) "
        "rows. From 64 rows on the compiled kernels, which run a BiLSTM's two directions "
        "side by side, tie with oneDNN at one thread or win, and win at two (oneDNN runs "
        "the directions one after the other and meets its threads at every step). At "
        "hidden 128 the two tie at one thread; the compiled kernels keep it.",
        "",
    ]
    for result, command in ((one, BATCH_PATH_T1_CMD), (two, BATCH_PATH_CMD)):
        if result is None:
            lines += not_measured(command)
            continue
        machine = result.get("machine", {})
        load_avg = (machine.get("load_average_before"), machine.get("load_average_after"))
        if load_avg[0] and load_avg[0][0] > machine.get("logical_cores", 1):
            lines += [
                f"A shared machine: the load average ({load_avg[0][0]}) exceeded the "
                f"{machine.get('logical_cores')} cores, so each thread waited for a core "
                "and a multi-threaded step also for its other thread (oneDNN synchronises "
                "its threads at every step; the compiled kernels' pieces never do).",
                "",
            ]
        lines += paired_table(
            result,
            [*SHAPE_HEADERS, "compiled:", "oneDNN:", "oneDNN's speed-up per round"],
            lambda row: [
                *_shape_cells(row),
                f"{row['compiled_ms']} ms",
                f"{row['onednn_ms']} ms",
                _per_round(row["onednn_speedup_per_round"]),
            ],
        )
    return lines


# --- workflow scale --------------------------------------------------------------------


def workflow_section(result: Result | None) -> list[str]:
    if result is None:
        return not_measured(WORKFLOW_CMD)
    machine = result.get("machine", {})
    extra = []
    if "snakemake" in machine:
        extra.append(f"snakemake {machine['snakemake']}")
    if "snakemake_executor_plugin_slurm" in machine:
        extra.append(f"slurm executor plugin {machine['snakemake_executor_plugin_slurm']}")
    if machine.get("load_average_at_start"):
        load = ", ".join(str(x) for x in machine["load_average_at_start"])
        extra.append(f"load average at start {load}")
    if machine.get("commit"):
        extra.append(f"commit {machine['commit']}")
    lines = [machine_line(result, *extra), ""]
    if result.get("command"):
        lines += [f"Command: `{result['command']}`.", ""]
    lines += [
        "Snakemake's Slurm executor plugin runs `scontrol show config` when it is imported, "
        "that is in every `snakemake` call, even a local one; with Slurm's client installed "
        "but no controller up it waits for the controller, so the runs are repeated with a "
        "stub `scontrol` (exits at once) first on PATH, as on a machine without Slurm: "
        "that is the workflow's own cost.",
        "",
    ]
    probe = result.get("scontrol_probe")
    if probe is not None:
        if probe.get("scontrol") is None:
            lines += ["`scontrol` is not installed: no probe cost.", ""]
        else:
            why = f", exit {probe.get('returncode')}"
            if probe.get("stderr"):
                why += f": `{probe['stderr']}`"
            lines += [
                f"`scontrol show config` alone ({probe['scontrol']}): {probe['seconds']} s{why}.",
                "",
            ]

    lines += ["### Grid scale (synthetic memory task)", ""]
    grid = result.get("grid")
    if grid is None:
        lines += not_measured(f"{WORKFLOW_CMD} --skip-quick")
    else:
        g = grid["grid"]
        jobs = grid.get("planned_jobs", {})
        stub = grid.get("without_scontrol_probe", {})
        fill = grid["fill"]
        startup = stub.get("snakemake_startup_seconds")
        stub_startup = DASH if startup is None else f"{startup:.2f} s"
        lines += [
            f"{grid['cells']} train cells ({len(g['archs'])} x {len(g['optimizers'])} x "
            f"{len(g['lengths'])} x {len(g['seeds'])}: archs x optimizers x lengths x seeds), "
            f"{jobs.get('total', '?')} Snakemake jobs in all, `--cores {grid['cores']}`, "
            f"{grid['repeats']} repeats of each dry and no-op run. Each cell is tiny "
            "(64/16/16 samples, 1 epoch, hidden 4).",
            "",
            "| measure | as is | without the Slurm probe |",
            "|---|---|---|",
            f"| DAG build (`snakemake -n`, nothing built) | {fmt_runs(grid['dag_build_seconds'])} "
            f"| {fmt_runs(stub.get('dag_build_seconds'))} |",
            f"| no-op rerun ('Nothing to be done'), target <= {grid['noop_target_seconds']:g} s "
            f"| {fmt_runs(grid['noop_rerun_seconds'])} | {fmt_runs(stub.get('noop_rerun_seconds'))} |",
            f"| `snakemake --version` (start-up) | {grid['snakemake_startup_seconds']:.2f} s "
            f"| {stub_startup} |",
            f"| one-time fill, {fill['jobs_run']} jobs | {fill['wall_seconds']} s "
            f"({fill['wall_seconds_per_train_cell']} s per train cell; train jobs' own time "
            f"summed {fill['train_job_seconds_sum']} s) | {DASH} |",
            "",
        ]

    lines += ["### Quick preset end to end (real data, fresh working directory)", ""]
    quick = result.get("quick")
    if not quick:
        lines += not_measured(f"{WORKFLOW_CMD} --skip-grid")
    else:
        machine = result.get("machine_quick")
        if machine:  # measured in a later run than the grid
            lines += [
                f"Measured in a separate run at commit {machine.get('commit', '?')}, load "
                f"average at start {', '.join(map(str, machine.get('load_average_at_start', [])))}.",
                "",
            ]
        lines += [
            "| threads per job | `--cores` | wall time | jobs | train cells | train jobs' time summed |",
            "|---:|---:|---:|---:|---:|---:|",
        ]
        for run in quick:
            lines.append(
                f"| {run['threads']} | {run['cores']} | {run['wall_seconds']} s "
                f"| {run['jobs'].get('total', run['jobs_run'])} | {run['train_cells']} "
                f"| {run['train_job_seconds_sum']} s |"
            )
        lines.append("")
        if "quick_speedup_threads2_vs_threads1" in result:
            lines += [
                "Speed at 2 threads per job relative to 1 thread per job (wall time at 1 ÷ "
                f"wall time at 2): {result['quick_speedup_threads2_vs_threads1']}. With "
                "`--cores 2`, two 1-thread jobs run side by side; a 2-thread job runs alone, "
                "and the per-step operations of these small models are below the size torch "
                "splits across threads. Hence the default `threads: 1`.",
                "",
            ]
    return lines


def core_equality_section(result: Result | None) -> list[str]:
    """Issue 25's refactor: the same cells trained by the code before and after it."""
    if result is None:
        return not_measured(CORE_EQUALITY_CMD)
    lines = [
        "Each cell trained twice on the same encoded data, one thread, with the code of "
        f"{result['old']} and of {result['new']}; "
        "metrics.json compared apart from timings, memory and hardware. "
        f"CPU: {result['cpu']} (shared machine).",
        "",
        "| cell | metrics.json |",
        "|---|---|",
    ]
    for cell in result["cells"]:
        verdict = "identical" if not cell["differs"] else f"differs in {cell['differs']}"
        lines.append(f"| {cell['cell']} | {verdict} |")
    return [*lines, ""]


def _difference_kinds(differences: list[str]) -> list[str]:
    """runs.csv differences counted per (dataset, arch, optimizer) and metrics.json ones per
    key, so a table cell says where the runs differ without listing every value."""
    counts: dict[str, int] = {}
    for text in differences:
        if text.startswith("runs.csv columns"):
            kind = "runs.csv columns (new columns added)"
        elif text.startswith("runs.csv"):
            kind = "runs.csv values of " + text.split()[1].rsplit("/", 2)[0]
        else:
            kind = "metrics.json `" + text.split(": ", 1)[1].split(" differs")[0] + "`"
        counts[kind] = counts.get(kind, 0) + 1
    return [f"{kind}: {n}" for kind, n in counts.items()]


def runs_equality_section(result: Result | None) -> list[str]:
    """The main job's results before and after a refactor: runs.csv and metrics.json."""
    if not result:
        return not_measured(RUNS_EQUALITY_CMD)
    lines = [
        "The main job's `results/summary/runs.csv` and every `metrics.json`, from two "
        "finished `make run`s, compared value by value (`.ci/compare_runs.py`'s comparison: "
        "timing and provenance columns and keys aside; `python bench/runs_equality.py`).",
        "",
        "| refactor | before | after | compared | differences | CPU, date |",
        "|---|---|---|---|---|---|",
    ]
    for label, entry in result.items():
        found = entry["differences"]
        verdict = "none: identical" if not found else "<br>".join(_difference_kinds(found))
        compared = (
            f"{entry['runs_csv_rows']} rows, {entry['runs_csv_values']} values; "
            f"{entry['metrics_files']} metrics.json"
        )
        lines.append(
            f"| {label} | {entry['before']} | {entry['after']} | {compared} | {verdict} "
            f"| {entry['cpu']}, {entry['date']} |"
        )
    notes = [f"- {label}: {entry['note']}" for label, entry in result.items() if entry["note"]]
    return [*lines, "", *notes, ""] if notes else [*lines, ""]


def main_job_section(result: Result | None) -> list[str]:
    """The main job's and every preset's wall time, each with its CPU model and load."""
    if not result or not result.get("presets"):
        return not_measured(MAIN_JOB_CMD)
    target = result.get("main_job_target_seconds")
    lines = [
        "Each preset from a fresh working directory, data stage included, "
        "`snakemake --cores 2` (the presets other than `quick` on the full corpora, "
        "tests/shared-data.yaml).",
        "",
        "| preset | wall time | jobs | train cells | train jobs' time summed | CPU | load at start | date | commit |",
        "|---|---:|---:|---:|---:|---|---|---|---|",
    ]
    for name, run in result["presets"].items():
        minutes = run["wall_seconds"] / 60
        lines.append(
            f"| `{name}` | {run['wall_seconds']:.0f} s ({minutes:.1f} min) "
            f"| {run['jobs'].get('total', DASH)} | {run['train_cells']} "
            f"| {run['train_job_seconds_sum']:.0f} s | {run['cpu_model']} "
            f"| {', '.join(str(x) for x in run['load_average_at_start'])} | {run['date']} "
            f"| {run.get('commit') or DASH} |"
        )
    tuned = {name: run for name, run in result["presets"].items() if run.get("tune_trials")}
    if tuned:
        lines += ["", "Cost of learning-rate tuning (`grid.tune`), from the same runs:", ""]
        lines += [
            "| preset | extra jobs (trials + selections + figure) | trials' job time summed | "
            "share of all training job time |",
            "|---|---:|---:|---:|",
        ]
        for name, run in tuned.items():
            jobs = run["jobs"]
            extra = (
                jobs.get("tune_trial", 0) + jobs.get("tune_select", 0) + jobs.get("lr_figure", 0)
            )
            share = run["tune_job_seconds_sum"] / (
                run["tune_job_seconds_sum"] + run["train_job_seconds_sum"]
            )
            lines.append(
                f"| `{name}` | {extra} ({run['tune_trials']} trials) "
                f"| {run['tune_job_seconds_sum']:.0f} s ({run['tune_job_seconds_sum'] / 60:.1f} min) "
                f"| {share:.0%} |"
            )
    main = result["presets"].get(result.get("main_job", "quick"))
    if main and target:
        met = yes_no(main["wall_seconds"] <= target)
        lines += [
            "",
            f"Main job (`{result.get('main_job', 'quick')}`): {main['wall_seconds']:.0f} s, "
            f"target <= {target / 60:g} min on 2 cores: {met}.",
        ]
    # The conditions a row was measured under, where they differ from a quiet machine.
    conditions = result.get("conditions") or {}
    if conditions:
        lines += ["", "Conditions of these measurements:", ""]
        lines += [f"- `{name}`: {note}" for name, note in conditions.items()]
    # Presets changed since their row was measured: what is not measured yet, and the
    # estimate, each labelled as such (bench/main_job.py replaces them when rerun).
    pending = result.get("pending") or {}
    if pending:
        lines += ["", "Not measured since the preset changed (estimates, not measurements):", ""]
        lines += [f"- `{name}`: {note}" for name, note in pending.items()]
    return [*lines, ""]


def cell_cost_section(result: Result | None) -> list[str]:
    """Each experiment too long to run end to end here: its jobs, the measured cost of a
    job of each kind (CPU time of one thread, the load it was measured under), the
    estimated total on 2 cores."""
    if not result:
        return not_measured(CELL_COST_CMD)
    lines = [
        "One job of each kind measured (`--epochs` epochs, early stopping off, one thread); "
        "a job of E epochs costs at most startup + fixed + E x per-epoch. The machine was "
        "shared: each figure is the job's CPU time (~ its wall time on a quiet machine), "
        "the wall time and load beside it. The total is the jobs' sum / 2 cores + the data "
        "stage's measured wall time: an upper bound (early stopping only shortens a job).",
        "",
    ]
    for name, run in result.items():
        total = run.get("estimated_total_seconds")
        head = (
            f"**{name}** (`{' '.join(run['configs'])}`): {run['jobs']} training jobs "
            f"({run['train_jobs']} grid cells, {run['tune_trials']} lr trials), "
            f"{len(run['kinds'])} kind(s) measured; data stage {run['data_stage_seconds']:.0f} s"
        )
        if total is not None:
            head += (
                f"; jobs summed {run['jobs_seconds_summed'] / 3600:.2f} h; **estimated total "
                f"{total / 3600:.2f} h on {run['cores']} cores**"
            )
        lines += [
            head + f" ({run['cpu_model']}, {run['date']}, commit {run['commit']}).",
            "",
            "| kind | jobs | per job (est.) | measured: epochs, CPU s, wall s, load | "
            "startup / fixed / per epoch (wall s) |",
            "|---|---:|---:|---|---|",
        ]
        for row in run["kinds"]:
            m = row["measured"]
            lines.append(
                f"| {row['kind']} | {row['jobs']} | {row['job_seconds']:.0f} s "
                f"| {m['epochs_measured']}, {m['cpu_seconds']:.1f}, {m['wall_seconds']:.1f}, "
                f"{m['load_at_start'][0]:g} | {m['startup_seconds']:.1f} / "
                f"{m['fixed_seconds']:.1f} / {m['per_epoch_seconds']:.2f} |"
            )
        lines.append("")
    return lines


# --- targets ---------------------------------------------------------------------------


def shape_rows(throughput: Result | None, name: str) -> dict[str, Result] | None:
    if throughput is None or "shapes" not in throughput or name not in throughput["shapes"]:
        return None
    return {row["arch"]: row for row in throughput["shapes"][name]["results"]}


def factor_row(target: str, num: float | None, den: float | None, factor: float) -> str:
    value = ratio(num, den)
    ok = None if value is None else value >= factor
    measured = DASH if value is None else f"{value:.2f}x ({num:,.0f} vs {den:,.0f} samples/s)"
    return f"| {target} | {measured} | {yes_no(ok)} |"


def targets_section(
    data_stage: Result | None, throughput: Result | None, workflow: Result | None
) -> list[str]:
    lines = ["| target | measured | met |", "|---|---|---|"]
    seed_a = shape_rows(throughput, "seed-a") or {}
    seed_c = shape_rows(throughput, "seed-c")
    layers = 25
    if seed_c is not None:
        layers = throughput["shapes"]["seed-c"]["setup"]["layers"]
    # The speed targets: rnnbench >= factor x a baseline variant, per arch.
    speed_targets = [
        (seed_a, RECURRENT, "seed A: rnnbench", "keras", "Keras 3", KERAS_FACTOR),
        (
            seed_c or {},
            seed_c or SEED_C_ARCHS,
            f"seed C: {layers}-layer stack",
            "naive_loop",
            "naive loop",
            NAIVE_FACTOR,
        ),
    ]
    for rows, archs, what, baseline, name, factor in speed_targets:
        for arch in archs:
            row = rows.get(arch, {})
            lines.append(
                factor_row(
                    f"{arch}, {what} >= {factor:g}x {name}",
                    rate(row.get("rnnbench")),
                    rate(row.get(baseline)),
                    factor,
                )
            )

    lstm = seed_a.get("lstm", {})
    fused, own = rate(lstm.get("torch_module")), rate(lstm.get("rnnbench"))
    for arch in CELL_ARCHS:
        ours = rate(seed_a.get(arch, {}).get("rnnbench"))
        vs_fused, vs_own = ratio(ours, fused), ratio(ours, own)
        parts = []
        if vs_fused is not None:
            parts.append(f"{vs_fused:.2f}x torch's fused `nn.LSTM` ({ours:,.0f} vs {fused:,.0f})")
        if vs_own is not None:
            parts.append(f"{vs_own:.2f}x rnnbench's lstm ({own:,.0f})")
        ok = None if vs_fused is None else vs_fused >= FUSED_FACTOR
        lines.append(
            f"| {arch}, seed A: samples/s >= {FUSED_FACTOR:g}x the fused LSTM's "
            f"| {'; '.join(parts) or DASH} | {yes_no(ok)} |"
        )

    if data_stage is None:
        lines.append(f"| data stage (fresh `prepare`) <= 90 s | {DASH} | not measured |")
    else:
        limit = data_stage["targets"]["wall_seconds"]
        wall = data_stage["wall_seconds"]
        lines.append(
            f"| data stage (fresh `prepare`) <= {limit} s | {wall} s | {yes_no(wall <= limit)} |"
        )

    target = f"no-op rerun of a >= {GRID_CELLS}-cell grid <= 10 s"
    grid = None if workflow is None else workflow.get("grid")
    if grid is None:
        lines.append(f"| {target} | {DASH} | not measured |")
    else:
        limit = grid["noop_target_seconds"]
        target = f"no-op rerun of a >= {GRID_CELLS}-cell grid <= {limit:g} s"
        noop = grid["noop_rerun_seconds"]["median"]
        stub = grid.get("without_scontrol_probe", {}).get("noop_rerun_seconds")
        measured = f"{noop:.2f} s as is"
        if stub is not None:
            measured += f"; {stub['median']:.2f} s without the Slurm probe"
        measured += f" ({grid['cells']} cells)"
        if grid["cells"] < GRID_CELLS:
            met = f"not measured (grid < {GRID_CELLS} cells)"
        else:
            met = yes_no(noop <= limit)
            if stub is not None and (noop <= limit) != (stub["median"] <= limit):
                met += f" ({yes_no(stub['median'] <= limit)} without the probe)"
        lines.append(f"| {target} | {measured} | {met} |")
    return [*lines, ""]


# --- GPU (issue 27) --------------------------------------------------------------------

GPU_CMD = "bash bench/gpu_check.sh (on a GPU machine; copy $OUT/gpu_*.json here)"
GPU_FUSED = ("lstm", "gru", "bilstm", "bigru")
GPU_CELLS = ("lstm_peephole", "lstm_cifg", "lstm_cell")  # as gpu_check.sh measures them
GPU_EAGER_TARGET, GPU_GRAPH_TARGET, GPU_K_TARGET = 30_000, 100_000, 5.0


def gpu_rate(result: Result | None, arch: str, impl: str, mode: str = "eager", amp=None):
    """samples/s of one measured GPU row, or its error, or None where not measured."""
    for row in (result or {}).get("results", []):
        if (row["arch"], row["impl"], row.get("mode", "eager")) != (arch, impl, mode):
            continue
        if row.get("amp") == amp or "error" in row:
            return row.get("samples_per_s", "error: " + row.get("error", "?"))
    return None


def fmt_gpu(value) -> str:
    return value if isinstance(value, str) else fmt_int(value)


def gpu_device_line(results: list[Result]) -> str:
    info = next(r["info"] for r in results)
    return (
        f"_Measured on {info['device']} (torch {info['torch']}, cuDNN {info.get('cudnn')},"
        " float32 with TF32 off unless bf16 is named) by `bash bench/gpu_check.sh`; seed-A"
        " shapes (vocab 10,000, length 120, embedding 16, hidden 32, head 6), batch 128,"
        " Adam 1e-3, clipping 1.0, pre-padded rows of uniform lengths._"
    )


def gpu_section(
    cell: Result | None, graph: Result | None, cells: Result | None, k_cells: Result | None
) -> list[str]:
    """The GPU figures: per-cell samples/s (fused archs eager, as a CUDA graph per bucket
    shape, packed; the cells' compiled step vs their loop), K cells per GPU, targets."""
    measured = [r for r in (cell, graph, cells, k_cells) if r]
    if not measured:
        return not_measured(GPU_CMD)
    lines = [gpu_device_line(measured), ""]
    lines += [
        "| arch | padded, one batch | packed (before) | padded, bf16 | bucketed, eager |"
        " bucketed, CUDA graph per shape |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for arch in GPU_FUSED:
        lines.append(
            f"| {arch} | {fmt_gpu(gpu_rate(cell, arch, 'padded'))}"
            f" | {fmt_gpu(gpu_rate(cell, arch, 'torch'))}"
            f" | {fmt_gpu(gpu_rate(cell, arch, 'padded', amp='bf16'))}"
            f" | {fmt_gpu(gpu_rate(graph, arch, 'padded'))}"
            f" | {fmt_gpu(gpu_rate(graph, arch, 'padded', 'graph'))} |"
        )
    lines += [
        "",
        "| cell architecture | loop, each step compiled (GPU plan) | reference loop |",
        "|---|---:|---:|",
    ]
    for arch in GPU_CELLS:
        lines.append(
            f"| {arch} | {fmt_gpu(gpu_rate(cells, arch, 'padded'))}"
            f" | {fmt_gpu(gpu_rate(cells, arch, 'reference'))} |"
        )
    lines.append("")
    rows = (k_cells or {}).get("results", [])
    one = next((r["total"] for r in rows if r["k"] == 1), None)
    if rows:
        lines += [
            f"K {rows[0]['arch']} cells training at once on the one GPU (processes):",
            "",
            "| K | samples/s, all cells | × one cell alone | seed-A cells per hour |",
            "|---:|---:|---:|---:|",
        ]
        for row in rows:
            lines.append(
                f"| {row['k']} | {fmt_int(row['total'])} |"
                f" {fmt_ratio(ratio(row['total'], one))} |"
                f" {row['cells_per_hour']:,.1f} |"
            )
        lines.append("")
    return [*lines, *gpu_targets(cell, graph, cells, rows, one)]


def gpu_targets(cell, graph, cells, k_rows, one) -> list[str]:
    def number(value):
        return value if isinstance(value, (int, float)) else None

    eager = [number(gpu_rate(cell, a, "padded")) for a in GPU_FUSED]
    graphs = [number(gpu_rate(graph, a, "padded", "graph")) for a in GPU_FUSED]
    fused_lstm = number(gpu_rate(cell, "lstm", "padded"))
    variants = [number(gpu_rate(cells, a, "padded")) for a in ("lstm_peephole", "lstm_cifg")]
    best_k = max((r["total"] for r in k_rows), default=None)

    def verdict(values, target) -> str:
        if any(v is None for v in values):
            return "not measured" if all(v is None for v in values) else "partly measured"
        return yes_no(all(v >= target for v in values))

    min_variant = None if None in variants or fused_lstm is None else min(variants) / fused_lstm
    return [
        "| target | measured | met |",
        "|---|---|---|",
        f"| eager ≥ {GPU_EAGER_TARGET:,} samples/s, each fused arch |"
        f" {', '.join(fmt_int(v) for v in eager)} | {verdict(eager, GPU_EAGER_TARGET)} |",
        f"| ≥ {GPU_GRAPH_TARGET:,} as a CUDA graph where the shapes allow |"
        f" {', '.join(fmt_int(v) for v in graphs)} | {verdict(graphs, GPU_GRAPH_TARGET)} |",
        f"| peephole and CIFG ≥ 0.5 × the fused LSTM | {fmt_ratio(min_variant)} |"
        f" {verdict([min_variant], 0.5)} |",
        f"| ≥ {GPU_K_TARGET:g}× aggregate throughput at the best K | {fmt_ratio(ratio(best_k, one))} |"
        f" {verdict([ratio(best_k, one)], GPU_K_TARGET)} |",
        "",
    ]


# --- main ------------------------------------------------------------------------------


def limits_section() -> list[str]:
    if LIMITS.exists():
        return [LIMITS.read_text().rstrip("\n"), ""]
    return ["_see the issue notes_", ""]


def render(results: Path) -> str:
    data_stage = load(results, "data_stage")
    throughput = load(results, "train_throughput")
    workflow = load(results, "workflow_scale")
    main_job = load(results, "main_job")
    cell_cost = load(results, "cell_cost")
    length_scaling = load(results, "length_scaling")
    exec_plan = load(results, "exec_plan")
    batching = load(results, "batching")
    uneven = load(results, "uneven_rows")
    rounds = [r for r in (throughput, load(results, "train_throughput_round2")) if r]
    issue28 = [r for r in (load(results, name) for name in ISSUE28_ROUNDS) if r]
    gpu = [load(results, name) for name in ("gpu_cell", "gpu_graph", "gpu_cells", "gpu_k_cells")]
    lines = [
        "# Benchmark results",
        "",
        "Generated by `python bench/make_results.py` from `bench/results/*.json`; rerun the",
        "benchmark scripts on a quiet machine to refresh them. Benchmarks are not tests: no",
        "test asserts wall-clock time. The JSON files come from:",
        "",
        f"- `{DATA_STAGE_CMD}`: `data_stage.json`",
        f"- `{THROUGHPUT_CMD}`: `train_throughput.json` (it installs the Keras 3 venv",
        "  itself via bench/keras_env.py, or records why it could not)",
        f"- `{WORKFLOW_CMD}`: `workflow_scale.json`",
        f"- `{LENGTH_CMD}`: `length_scaling.json`",
        f"- `{EXEC_PLAN_CMD}`: `exec_plan.json`",
        f"- `{BATCHING_CMD}`: `batching.json`",
        f"- `{UNEVEN_CMD}`: `uneven_rows.json`",
        f"- `{ROUND2_CMD}`: `train_throughput_round2.json`",
        f"- `{ISSUE28_CMD} --out bench/results/<name>.json`, twice: "
        + ", ".join(f"`{name}.json`" for name in ISSUE28_ROUNDS),
        f"- `{BATCH_PATH_CMD}` and `{BATCH_PATH_T1_CMD}`: `batch_path.json`, "
        "`batch_path_threads1.json`",
        f"- `{LAYER_PATH_CMD}`, N = 1 and 2: `layer_path_threads1.json`, "
        "`layer_path_threads2.json`",
        f"- `{MAIN_JOB_CMD}`: `main_job.json`",
        f"- `{GPU_CMD}`: `gpu_cell.json`, `gpu_graph.json`, `gpu_cells.json`, `gpu_k_cells.json`",
        f"- `{CELL_COST_CMD}`: `cell_cost.json`",
        f"- `{RUNS_EQUALITY_CMD}`: `runs_equality.json`",
        f"- `{CORE_EQUALITY_CMD}`: `core_equality.json`",
        "",
        "## The main job and the presets, end to end",
        "",
        *main_job_section(main_job),
        "### The same results before and after the experiment core (issue 25)",
        "",
        *runs_equality_section(load(results, "runs_equality")),
        *core_equality_section(load(results, "core_equality")),
        "## Experiments too long to run here: measured cells, estimated totals",
        "",
        *cell_cost_section(cell_cost),
        "## Data stage: real IMDB + GMB to padded arrays, lengths 120 and 200",
        "",
        *data_stage_section(data_stage),
        "## Training throughput: rnnbench vs torch modules vs a naive loop vs Keras 3",
        "",
        *throughput_section(throughput),
        "### rnnbench vs Keras 3, round by round",
        "",
        *keras_rounds_section(rounds),
        "## Training time vs sequence length (memory task)",
        "",
        *length_scaling_section(length_scaling),
        "## Execution plan (issue 17): CPU throughput before and after",
        "",
        *exec_plan_section(exec_plan),
        "### Uneven rows: why ragged batches run on the compiled kernels",
        "",
        *uneven_rows_section(uneven),
        "### Per-batch path (issue 28): rows of one length, compiled kernels vs oneDNN",
        "",
        *batch_path_section(load(results, "batch_path"), load(results, "batch_path_threads1")),
        "### Compiled layer: one pass or projection + scan (issue 28)",
        "",
        *layer_path_section([load(results, f"layer_path_threads{n}") for n in (1, 2)]),
        "## Issue 28: the LSTM family, minGRU and minLSTM against torch and Keras",
        "",
        *issue28_section(issue28),
        "## Length-bucketed batches (`hparams.batching`), CPU",
        "",
        *batching_section(batching),
        "## GPU: per-cell speed and K cells per GPU (issue 27)",
        "",
        *gpu_section(*gpu),
        "## Workflow scale: DAG build, no-op rerun, quick preset",
        "",
        *workflow_section(workflow),
        "## Targets",
        "",
        *targets_section(data_stage, throughput, workflow),
        "## How the targets were reached, and what limits them",
        "",
        *limits_section(),
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder of the JSON files")
    parser.add_argument("--out", type=Path, default=BENCH / "RESULTS.md")
    args = parser.parse_args()
    args.out.write_text(render(args.results))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
