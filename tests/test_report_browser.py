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
from report_browser import CHROMIUM, check_html_file, walk_report

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
        ("Summary", None): ["every run (CSV)", "summary (Markdown)"],
    }
    runs = ("mem", "Runs")
    seen = walk_report(report, tmp_path / "screenshots", [*expected, runs])
    # Per-run histories are filterable by their labels: the first column is the arch.
    assert set(seen.pop(runs)) == {"rnn", "lstm"}
    assert {key: sorted(names) for key, names in seen.items()} == expected
    shots = tmp_path / "screenshots"
    for size in ("1366x768", "1920x1080"):
        assert (shots / f"home-{size}.png").stat().st_size > 20_000
        assert (shots / f"mem-Comparison-comparison-{size}.png").stat().st_size > 20_000
        assert (shots / f"mem-Figures-heatmap-{size}.png").exists()


def test_layout_check_fails_on_a_too_wide_table_and_passes_on_a_real_one(
    tmp_path: Path,
) -> None:
    """The layout check (report_browser.LAYOUT_JS) catches a table wider than its frame
    and text overflowing its box; the comparison table's own page passes it."""
    _browser_or_skip()
    from rnnbench.analysis.collect import collect_runs
    from rnnbench.analysis.compare import comparison_table
    from rnnbench.analysis.compare_page import render_html
    from test_analysis_compare import BASELINES, _grid

    wide = tmp_path / "wide.html"
    cells = "".join(f"<td style='white-space: nowrap'>{'metric ' * 8}{i}</td>" for i in range(12))
    wide.write_text(f"<!DOCTYPE html><html><body><table><tr>{cells}</tr></table></body></html>")
    problems = check_html_file(wide, width=1000)
    assert any("table" in p and "1000px frame" in p for p in problems), problems
    boxed = tmp_path / "boxed.html"
    boxed.write_text(
        "<!DOCTYPE html><html><body><p style='width: 100px; white-space: nowrap; "
        "overflow: hidden'>a sentence far longer than its one hundred pixel box</p></body></html>"
    )
    assert any("text overflows its box" in p for p in check_html_file(boxed, width=1000))

    table = comparison_table(collect_runs(_grid(tmp_path / "runs")), "imdb", BASELINES)
    real = tmp_path / "comparison.html"
    real.write_text(render_html(table, "imdb: test accuracy by grid cell"), encoding="utf-8")
    # The report's content pane beside its menu: about 960 px at a 1366 px window.
    assert check_html_file(real, width=960) == []
