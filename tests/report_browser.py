"""Click through a Snakemake HTML report in headless Chromium (Playwright), with screenshots.

Used by tests/test_report_browser.py and by CI on the quick preset's report
(.ci/check_report.py). The report is a single-page app: a menu of categories ->
subcategories -> result rows, each row with an "eye" button that shows the result.

Each page is opened at every size in VIEWPORTS (a laptop's 1366x768 and 1920x1080); a
screenshot of the landing page and of every table and figure is saved, and the layout is
checked: the landing page's first line is in view, no table is wider than its frame (no
horizontal scrolling), no text overflows its box, no figure is wider than the window.

As a script, it screenshots a report for the README (docs/img):

    python tests/report_browser.py reports/report.html results/report-screenshots \
        --viewport 1366x768 --docs docs/img
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

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
DOWNLOAD_ONLY = ("(CSV)", "(CSV download)", "(Markdown)")  # offered as downloads
VIEWPORTS: tuple[tuple[int, int], ...] = ((1366, 768), (1920, 1080))
Section = tuple[str, str | None]  # (category, subcategory or None)

# Layout problems of the document it runs in (a table page in the report's iframe).
LAYOUT_JS = """() => {
  const doc = document.documentElement, problems = [];
  const width = doc.clientWidth;
  if (doc.scrollWidth > width + 1)
    problems.push(`page scrolls sideways: ${doc.scrollWidth}px of content in ${width}px`);
  for (const table of document.querySelectorAll('table')) {
    const box = table.getBoundingClientRect();
    if (box.right > width + 1)
      problems.push(`table ${Math.round(box.width)}px wide in a ${width}px frame`);
  }
  for (const el of document.querySelectorAll('td, th, caption, p, li, summary, h1, h2, h3')) {
    if (el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0) {
      const text = el.innerText.trim().slice(0, 40);
      problems.push(`text overflows its box (${el.scrollWidth}px in ${el.clientWidth}px): "${text}"`);
    }
  }
  return problems;
}"""

# The landing page: its first line must be in view and reachable (Snakemake's content
# pane centred it vertically, so a tall page began above the window).
LANDING_JS = """() => {
  const prose = document.querySelector('.prose');
  if (!prose) return ['no workflow description'];
  const first = prose.firstElementChild || prose;
  const box = first.getBoundingClientRect();
  return box.top < 0 ? [`landing page starts above the window (y = ${Math.round(box.top)}px)`] : [];
}"""

FIGURE_JS = """() => {
  const problems = [];
  for (const img of document.querySelectorAll('main img, div.p-3 > img')) {
    const box = img.getBoundingClientRect();
    if (box.right > window.innerWidth + 1)
      problems.push(`figure ${Math.round(box.width)}px wide in a ${window.innerWidth}px window`);
  }
  return problems;
}"""


def layout_problems(frame: Any) -> list[str]:
    """The layout problems of a Playwright page or frame showing one table page."""
    return list(frame.evaluate(LAYOUT_JS))


def _launch(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def _open(page: Any, report: Path) -> None:
    page.goto(report.as_uri())
    page.wait_for_selector("text=RESULTS", timeout=30_000)


def _shot_name(category: str, subcategory: str | None, name: str, size: str) -> str:
    return f"{category}-{subcategory}-{name}-{size}.png".replace(" ", "_").replace("/", "_")


def report_sections(report: Path) -> list[Section]:
    """The report's (category, subcategory) pairs, from its ``categories`` variable."""
    text = report.read_text(encoding="utf-8")
    start = text.index("var categories =") + len("var categories =")
    categories = json.loads(text[start : text.index("\n", start)].strip().rstrip(";"))
    return [
        (category, None if subcategory == "Other" else subcategory)
        for category, subcategories in categories.items()
        for subcategory in subcategories
    ]


def walk_report(
    report: Path,
    shots: Path,
    sections: list[Section],
    viewports: tuple[tuple[int, int], ...] = VIEWPORTS,
) -> dict[Section, list[str]]:
    """Open every result of every section at every viewport; return the first-column
    names seen per section (from the first viewport).

    Each result that is not a download must show an image or an HTML table (iframe); a
    screenshot of it is saved under ``shots``. Raises AssertionError on anything that
    does not show and on every layout problem (see the module doc), all listed at once.
    """
    from playwright.sync_api import sync_playwright

    shots.mkdir(parents=True, exist_ok=True)
    seen: dict[Section, list[str]] = {}
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = _launch(playwright)
        for number, (width, height) in enumerate(viewports):
            size = f"{width}x{height}"
            page = browser.new_page(viewport={"width": width, "height": height})
            _open(page, report)
            page.wait_for_timeout(300)
            page.screenshot(path=str(shots / f"home-{size}.png"))
            if "how to read the results" not in page.inner_text("body").lower():
                raise AssertionError("the workflow description is missing from the report")
            problems += [f"landing page at {size}: {p}" for p in page.evaluate(LANDING_JS)]
            for category, subcategory in sections:
                _open(page, report)
                page.get_by_role("link", name=category, exact=True).click()
                if subcategory:
                    page.get_by_role("link", name=subcategory, exact=True).click()
                rows = page.locator("tr", has=page.locator('a[iconname="eye"]'))
                rows.first.wait_for(timeout=10_000)
                names: list[str] = []
                for i in range(rows.count()):
                    row = rows.nth(i)
                    name = row.locator("td").first.inner_text().strip()
                    names.append(name)
                    row.locator('a[iconname="eye"]').click()
                    if name.endswith(DOWNLOAD_ONLY) or subcategory == "Runs":
                        continue  # CSV results (tables, per-run histories) are downloads
                    shown = page.locator("iframe, main img, img[src^='data:image/svg']").first
                    shown.wait_for(timeout=10_000)
                    where = f"{category}/{subcategory or '-'}/{name} at {size}"
                    frame = page.locator("iframe").first
                    if frame.count():
                        content = frame.element_handle().content_frame()
                        content.wait_for_load_state()
                        problems += [f"{where}: {p}" for p in layout_problems(content)]
                    else:
                        problems += [f"{where}: {p}" for p in page.evaluate(FIGURE_JS)]
                    shot = shots / _shot_name(category, subcategory, name, size)
                    page.screenshot(path=str(shot))
                    if shot.stat().st_size < 20_000:
                        raise AssertionError(f"{where}: nothing shown")
                if number == 0:
                    seen.setdefault((category, subcategory), []).extend(names)
            page.close()
        browser.close()
    if problems:
        raise AssertionError("layout problems:\n  " + "\n  ".join(problems))
    return seen


def check_html_file(path: Path, width: int = 1000, height: int = 700) -> list[str]:
    """Layout problems of one table page shown in a frame of ``width`` px (the report's
    content pane beside its menu at 1366 px is about that wide)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = _launch(playwright)
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(path.resolve().as_uri())
        found = layout_problems(page)
        browser.close()
    return found


# The README's screenshots (docs/img): the landing page, a comparison table, published vs
# measured and a figure, as 256-colour PNGs (a few hundred KB together).
DOCS_SHOTS: dict[str, str] = {
    "home-1366x768.png": "report-landing.png",
    "-Comparison-comparison-1366x768.png": "report-comparison.png",
    "Published_vs_measured-None-published_vs_measured-1366x768.png": "report-published.png",
    "-Figures-metric_vs_length-1366x768.png": "report-figure.png",
}


def docs_images(shots: Path, out: Path) -> list[Path]:
    from PIL import Image

    out.mkdir(parents=True, exist_ok=True)
    written = []
    for suffix, name in DOCS_SHOTS.items():
        found = sorted(p for p in shots.glob("*.png") if p.name.endswith(suffix))
        if not found:
            continue
        # The last dataset's (the memory task's, in the main job) comparison and figure.
        image = Image.open(found[-1]).convert("RGB").quantize(colors=256)
        image.save(out / name, optimize=True)
        written.append(out / name)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report", type=lambda p: Path(p).resolve())
    parser.add_argument("out", type=Path, help="folder for the screenshots")
    parser.add_argument(
        "--viewport", action="append", default=[], help="WIDTHxHEIGHT (repeat; default both)"
    )
    parser.add_argument("--docs", type=Path, help="also write the README's screenshots here")
    args = parser.parse_args(argv)
    viewports = tuple(tuple(int(v) for v in s.split("x")) for s in args.viewport) or VIEWPORTS
    seen = walk_report(args.report, args.out, report_sections(args.report), viewports)  # type: ignore[arg-type]
    for (category, subcategory), names in seen.items():
        print(f"{category} / {subcategory or '-'}: {len(names)} shown")
    if args.docs:
        for path in docs_images(args.out, args.docs):
            print(f"wrote {path} ({path.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
