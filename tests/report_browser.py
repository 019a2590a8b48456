"""Click through a Snakemake HTML report in headless Chromium (Playwright), with screenshots.

Used by tests/test_report_browser.py and by CI on the quick preset's report
(.ci/check_report.py). The report is a single-page app: a menu of categories ->
subcategories -> result rows, each row with an "eye" button that shows the result.
"""

from __future__ import annotations

import shutil
from pathlib import Path

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
DOWNLOAD_ONLY = ("(CSV)", "(CSV download)")  # the report offers CSV as a download
Section = tuple[str, str | None]  # (category, subcategory or None)


def walk_report(report: Path, shots: Path, sections: list[Section]) -> dict[Section, list[str]]:
    """Open every result of every section; return the first-column names seen per section.

    Each result that is not a download must show an image or an HTML table (iframe); a
    screenshot of it is saved under ``shots``. Raises on anything that does not show.
    """
    from playwright.sync_api import sync_playwright

    shots.mkdir(parents=True, exist_ok=True)
    seen: dict[Section, list[str]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(report.as_uri())
        page.wait_for_selector("text=RESULTS", timeout=30_000)
        page.screenshot(path=str(shots / "home.png"))
        if "how to read the results" not in page.inner_text("body").lower():
            raise AssertionError("the workflow description is missing from the report")
        for category, subcategory in sections:
            page.goto(report.as_uri())
            page.wait_for_selector("text=RESULTS", timeout=30_000)
            page.get_by_role("link", name=category, exact=True).click()
            if subcategory:
                page.get_by_role("link", name=subcategory, exact=True).click()
            rows = page.locator("tr", has=page.locator('a[iconname="eye"]'))
            rows.first.wait_for(timeout=10_000)
            names = seen.setdefault((category, subcategory), [])
            for i in range(rows.count()):
                row = rows.nth(i)
                name = row.locator("td").first.inner_text().strip()
                names.append(name)
                row.locator('a[iconname="eye"]').click()
                if name.endswith(DOWNLOAD_ONLY) or subcategory == "Runs":
                    continue  # CSV results (tables, per-run histories) are downloads
                page.locator("iframe, main img, img[src^='data:image/svg']").first.wait_for(
                    timeout=10_000
                )
                shot = shots / f"{category}-{subcategory}-{name}.png".replace(" ", "_")
                page.screenshot(path=str(shot))
                if shot.stat().st_size < 20_000:
                    raise AssertionError(f"{category}/{subcategory}/{name}: nothing shown")
        browser.close()
    return seen
