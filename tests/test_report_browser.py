"""The HTML report, opened in a real browser (Debian's Chromium, driven by Playwright).

Builds a small grid (memory task), renders `snakemake --report`, then clicks through every
category, subcategory and result and checks that each table and figure is shown, with a
screenshot of each. Skipped where Chromium or Playwright is missing, unless
RNNBENCH_REQUIRE_BROWSER=1 (CI sets it, so there the test cannot silently not run).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import run_snakemake, write_memory_grid
from report_browser import CHROMIUM, walk_report

pytestmark = pytest.mark.slow


def _browser_or_skip() -> None:
    missing = []
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package (pip install playwright)")
    if not Path(CHROMIUM).exists():
        missing.append("Chromium (apt-get install chromium)")
    if missing:
        if os.environ.get("RNNBENCH_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser test required but missing: {', '.join(missing)}")
        pytest.skip(f"missing {', '.join(missing)}")


def build_report(workdir: Path) -> Path:
    write_memory_grid(
        workdir, ["rnn", "lstm"], ["adam"], lengths=[8, 16], seeds=[0, 1], samples=(128, 32, 32)
    )
    report = workdir / "report.html"
    for args in (["--cores", "2"], ["--report", str(report)]):
        result = run_snakemake(workdir, *args)
        assert result.returncode == 0, result.stdout + result.stderr
    return report


def test_report_shows_every_table_and_figure_in_chromium(tmp_path: Path) -> None:
    _browser_or_skip()
    report = build_report(tmp_path)
    expected = {
        ("mem", "Comparison"): ["comparison", "comparison (CSV download)"],
        ("mem", "Data"): ["data card"],
        ("mem", "Figures"): ["heatmap", "learning_curves", "metric_vs_cost", "metric_vs_length"],
        ("Summary", None): ["every run (CSV)"],
    }
    runs = ("mem", "Runs")
    seen = walk_report(report, tmp_path / "screenshots", [*expected, runs])
    # Per-run histories are filterable by their labels: the first column is the arch.
    assert set(seen.pop(runs)) == {"rnn", "lstm"}
    assert {key: sorted(names) for key, names in seen.items()} == expected
    html = (tmp_path / "screenshots" / "mem-Comparison-comparison.png").stat().st_size
    assert html > 20_000
