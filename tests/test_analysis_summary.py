"""The answer first: the summary agrees with the comparison table, links its evidence,
and reads the same in Markdown and on the report's landing page (RST)."""

from __future__ import annotations

from pathlib import Path

from docutils.core import publish_parts

from rnnbench.analysis.collect import collect_runs
from rnnbench.analysis.compare import comparison_table
from rnnbench.analysis.rulegraph import rule_levels
from rnnbench.analysis.summary import build_summary, render_markdown, render_rst
from test_analysis_compare import BASELINES, _grid
from test_analysis_helpers import make_metrics, write_run


def test_summary_states_best_cell_flags_and_published_verdicts(tmp_path: Path) -> None:
    runs = collect_runs(_grid(tmp_path))
    table = comparison_table(runs, "imdb", BASELINES)
    best = table[table["mark"] == "best"].iloc[0]
    published = [
        {
            "source": "Seed A",
            "dataset": "imdb",
            "arch": "lstm",
            "optimizer": "adam",
            "length": 120,
            "metric": "accuracy",
            "value": 0.855,
        }
    ]
    sections = build_summary(runs, ["imdb", "absent"], {"imdb": BASELINES}, published)
    md = render_markdown(sections)
    half = (best["ci_high"] - best["ci_low"]) / 2
    # The same numbers as the table (same stats module): mean ± t-interval half-width.
    assert f"Best cell: **{best['arch']}" in md and f"{best['mean']:.3f} ± {half:.3f}" in md
    assert "Not significantly worse: gru" in md
    assert "3 of 12 runs flagged (single_class: 3, stuck: 3, degenerate: 3)" in md
    assert "Best baseline: bow-logreg 0.870" in md
    assert "[comparison table](imdb/comparison.html)" in md
    assert "Optimizer: one per architecture here (gru adam, lstm adam, rnn adam, rnn_c sgd)" in md
    assert "Sequence length: one value in this grid (120)" in md
    assert "## absent" in md and "No finished runs yet." in md
    assert "Seed A, imdb lstm/adam/len 120, test accuracy: published 0.855" in md
    assert "**inconclusive**" in md and "[published vs measured](published.html)" in md

    body = publish_parts(render_rst(sections), writer_name="html")["html_body"]
    assert "javascript:app.showResultInfo('results%2Fsummary%2Fimdb%2Fcomparison.html')" in body
    assert "<strong>inconclusive</strong>" in body and "system-message" not in body


def test_length_effect_is_tested_on_the_seeds(tmp_path: Path) -> None:
    paths = []
    for length, scores in ((10, [0.99, 0.98, 0.99]), (100, [0.5, 0.52, 0.51])):
        for seed, acc in enumerate(scores):
            metrics = make_metrics(arch="lstm", length=length, seed=seed, accuracy=acc)
            paths.append(write_run(tmp_path, metrics))
    md = render_markdown(build_summary(collect_runs(paths), ["imdb"]))
    assert "Sequence length (shortest → longest): lstm: 0.987 → 0.510" in md
    assert "significant)" in md and "[metric vs length](imdb/plots/metric_vs_length.svg)" in md


def test_memory_summary_says_which_arch_solves_which_length(tmp_path: Path) -> None:
    # The mean would hide the split outcome; the verdict is on the solved fractions.
    outcomes = {
        ("rnn", 25): [1.0, 1.0, 0.99],
        ("rnn", 50): [1.0, 0.97, 0.95],
        ("lstm", 25): [1.0, 1.0, 1.0],
        ("lstm", 50): [0.95, 0.5, 0.52],
    }
    paths = []
    for (arch, length), scores in outcomes.items():
        for seed, acc in enumerate(scores):
            metrics = make_metrics(
                task="memory", dataset="mem", arch=arch, length=length, seed=seed, accuracy=acc
            )
            paths.append(write_run(tmp_path, metrics))
    md = render_markdown(build_summary(collect_runs(paths), ["mem"]))
    assert (
        "Seeds that solve each length (test accuracy ≥ 0.9): length 25: lstm 3/3, rnn 3/3; "
        "length 50: lstm 1/3, rnn 3/3." in md
    )
    assert "rnn is ahead at length 50; lstm is ahead at no length" in md
    assert "under this setup: optimizer adam" in md


def test_ties_are_not_ahead_and_an_unused_parameter_still_gets_its_test(tmp_path: Path) -> None:
    # The recurrent model records clip_norm, the other none (NaN in runs.csv): its cells
    # must still be found for the length test (NaN != NaN), and equal seeds give p = 1.
    paths = []
    for arch, hparams in (("lstm", {"clip_norm": 1.0}), ("transformer", {})):
        for length in (25, 50):
            for seed in range(3):
                metrics = make_metrics(
                    task="memory", dataset="mem", arch=arch, length=length, seed=seed,
                    accuracy=1.0, hparams=hparams,
                )  # fmt: skip
                paths.append(write_run(tmp_path, metrics))
    md = render_markdown(build_summary(collect_runs(paths), ["mem"]))
    assert "no test" not in md
    assert "transformer: 1.000 → 1.000 (Welch p = 1.000, not significant)" in md
    assert "lstm, transformer are ahead at no length (ahead: solves more seeds" in md


def test_rule_graph_has_one_node_per_rule_at_its_longest_path() -> None:
    graph = {
        "fetch": set(),
        "synthesize": set(),
        "encode": {"fetch", "synthesize"},
        "tokenize": {"fetch"},
        "vocab": {"tokenize"},
        "train": {"encode", "vocab"},
    }
    levels = rule_levels(graph)
    assert levels == {
        "fetch": 0,
        "synthesize": 0,
        "encode": 1,
        "tokenize": 1,
        "vocab": 2,
        "train": 3,
    }
