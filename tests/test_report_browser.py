"""The HTML report, opened in a real browser (Debian's Chromium, driven by Playwright).

Builds a small grid (memory task), renders `snakemake --report`, then clicks through every
category, subcategory and result and checks that each table and figure is shown, with a
screenshot of each. Skipped where Chromium or Playwright is missing, unless
RNNBENCH_REQUIRE_BROWSER=1 (CI sets it, so there the test cannot silently not run).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
pytestmark = pytest.mark.slow


def _browser_or_skip():
    missing = []
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing.append("the playwright package (pip install playwright)")
        sync_playwright = None
    if not Path(CHROMIUM).exists():
        missing.append("Chromium (apt-get install chromium)")
    if missing:
        if os.environ.get("RNNBENCH_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser test required but missing: {', '.join(missing)}")
        pytest.skip(f"missing {', '.join(missing)}")
    return sync_playwright


def build_report(workdir: Path) -> Path:
    config = {
        "datasets_to_run": ["mem"],
        "datasets": {
            "mem": {
                "task": "memory",
                "format": "synthetic",
                "synthetic": {
                    "samples": {"train": 128, "validation": 32, "test": 32},
                    "signal_position": {"from_end": 2},
                },
                "grid": {
                    "archs": ["rnn", "lstm"],
                    "optimizers": ["adam"],
                    "lengths": [8, 16],
                    "seeds": [0, 1],
                    "hparams": {"epochs": 2, "batch_size": 32, "hidden": 8, "head_hidden": 0},
                },
            }
        },
    }
    (workdir / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    base = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(workdir)]
    report = workdir / "report.html"
    for args in (["--cores", "2"], ["--report", str(report)]):
        result = subprocess.run([*base, *args], capture_output=True, text=True, timeout=900)
        assert result.returncode == 0, result.stdout + result.stderr
    return report


def test_report_shows_every_table_and_figure_in_chromium(tmp_path: Path) -> None:
    sync_playwright = _browser_or_skip()
    report = build_report(tmp_path)
    shots = tmp_path / "screenshots"
    shots.mkdir()
    expected = {
        ("mem", "Comparison"): {"comparison", "comparison (CSV download)"},
        ("mem", "Data"): {"data card"},
        ("mem", "Figures"): {"heatmap", "learning_curves", "metric_vs_cost", "metric_vs_length"},
        ("Summary", None): {"every run (CSV)"},
    }
    seen: dict[tuple[str, str | None], set[str]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(report.as_uri())
        page.wait_for_selector("text=RESULTS", timeout=30_000)
        page.screenshot(path=str(shots / "home.png"))
        assert "how to read the results" in page.inner_text("body").lower()

        for category, subcategory in expected:
            page.goto(report.as_uri())
            page.wait_for_selector("text=RESULTS", timeout=30_000)
            page.get_by_role("link", name=category, exact=True).click()
            if subcategory:
                page.get_by_role("link", name=subcategory, exact=True).click()
            rows = page.locator("tr", has=page.locator('a[iconname="eye"]'))
            rows.first.wait_for(timeout=10_000)
            seen[(category, subcategory)] = set()
            for i in range(rows.count()):
                row = rows.nth(i)
                name = row.locator("td").first.inner_text().strip()
                seen[(category, subcategory)].add(name)
                row.locator('a[iconname="eye"]').click()
                if name.endswith(("(CSV)", "(CSV download)")):
                    continue  # the report offers CSV as a download, not inline
                # A figure is shown as an <img>, an HTML table in an <iframe>.
                shown = page.locator("iframe, main img, img[src^='data:image/svg']")
                shown.first.wait_for(timeout=10_000)
                shot = shots / f"{category}-{subcategory}-{name}.png".replace(" ", "_")
                page.screenshot(path=str(shot))
                assert shot.stat().st_size > 20_000, f"{name}: the screenshot looks empty"
                if name == "comparison":
                    table = page.frame_locator("iframe").locator("table")
                    assert "mean test accuracy" in table.inner_text()
                    assert "baseline: majority" in table.inner_text()
        browser.close()

    for key, names in expected.items():
        assert seen[key] == names, f"{key}: the report lists {sorted(seen[key])}"
