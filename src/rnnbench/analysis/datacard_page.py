"""A data card (rnnbench.data.datacard's JSON) rendered as HTML for the report."""

from __future__ import annotations

import html

import pandas as pd

from rnnbench.analysis.formats import fmt_int
from rnnbench.analysis.htmlpage import page, styled_table
from rnnbench.data.datacard import leakage_text, unseen_tags_text
from rnnbench.experiment.tasks import task_of


def datacard_html(card: dict) -> str:
    """The data card as a small self-contained HTML page (for the Snakemake report)."""
    labels = "tags" if task_of(card["task"]).tags_tokens else "labels"

    def row(split: str, info: dict) -> dict[str, str]:
        counts = sorted(info.get(f"{labels[:-1]}_counts", {}).items(), key=lambda kv: -kv[1])
        shown = ", ".join(f"{k}: {v:,}" for k, v in counts[:8])
        return {
            "split": split,
            "examples": fmt_int(info["examples"]),
            labels: shown + (" …" if len(counts) > 8 else ""),
            "length p50 / p90 / p99 / max": " / ".join(
                str(info["token_length"][k]) for k in ("p50", "p90", "p99", "max")
            ),
            "tokens": fmt_int(info.get("tokens")) or "–",
            "OOV rate": f"{info['oov_rate']:.2%}" if "oov_rate" in info else "–",
        }

    leaks = [
        f"{p.replace('_', ' / ')}: {n:,}"
        for p, n in (card.get("duplicates_across_splits") or {}).items()
        if n
    ]
    intro = (
        f"Source: {card.get('source') or card.get('synthetic') or ''} · vocabulary "
        f"{card['vocab_size']:,} ids · {card['num_labels']} labels: {', '.join(card['labels'])}"
        + (f" · exact duplicate texts across splits: {', '.join(leaks)}" if leaks else "")
    )
    if (card.get("leakage") or {}).get("flagged"):
        intro += f" · LEAKAGE: {leakage_text(card['leakage'])}; every run is flagged `leakage`"
    if card.get("unseen_tag_types"):
        intro += (
            " · entity types that train never has (they can only be missed): "
            + unseen_tags_text(card["unseen_tag_types"])
        )
    frame = pd.DataFrame([row(split, info) for split, info in card["splits"].items()])
    title = f"Data card: {card['dataset']} ({card['task']}, format {card['format']})"
    notes = "".join(
        f'<p class="note"><b>{name}</b>: {html.escape(card[key])}.</p>'
        for name, key in (
            ("Vocabulary", "vocabulary_source"),
            ("Training sets", "training_subsets"),
        )
        if card.get(key)
    )
    return page(title, styled_table(frame, caption=intro), intro=notes)
