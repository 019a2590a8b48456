"""The opening of the small self-contained HTML pages the analysis writes for the report."""

import html


def page_start(title: str, css: str) -> list[str]:
    """Doctype, head with the page's CSS, and the title as a heading: the first lines."""
    return [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>",
        f"<style>{css}</style></head><body>",
        f"<h2>{html.escape(title)}</h2>",
    ]
