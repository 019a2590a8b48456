"""The answer first: a short summary of every dataset's results, in words and numbers.

Per dataset: the best cell and the cells not significantly worse than it, what sequence
length changed, the optimizers ranked per architecture at their tuned learning rates (and
how tuning changed that ranking where the same cells also ran at fixed ones), which tuned
lr sits at the edge of its candidates, how many runs are flagged and why; then where each
published number (the config's ``published`` list) stands. Every figure comes from the
same functions as the tables (:func:`compare.comparison_table`,
:func:`published.published_vs_measured`, both on :mod:`stats`), so the summary cannot
disagree with them. Each statement links to the table or figure behind it.

Written twice: ``summary.md`` (Markdown, readable in a terminal, links relative to the
summary folder) and ``summary.rst`` (included at the top of the report's landing page,
reports/workflow.rst; its links open the result in the report).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd

from rnnbench.analysis import budget, stats
from rnnbench.analysis.baselines import BOW, BOW_WHOLE, baseline_rows
from rnnbench.analysis.collect import AnalysisError
from rnnbench.analysis.compare import (
    KIND_MODEL,
    LR_KEYS,
    TUNED_LR,
    comparison_table,
    edge_notes,
    with_tuned_lr,
)
from rnnbench.analysis.formats import fmt_ci, fmt_value, missing, setting_text
from rnnbench.analysis.published import published_vs_measured, short_verdict
from rnnbench.analysis.sanity import leaks, split_flags
from rnnbench.experiment.tasks import reports_solved
from rnnbench.io import read_json, write_text_atomic

SUMMARY_ROOT = "results/summary"


@dataclass(frozen=True)
class Link:
    """A result of the report: ``path`` relative to the working directory."""

    label: str
    path: str


# A statement: text pieces and links, in order.
Statement = list[str | Link]


def _cell_name(row: pd.Series, keys: Sequence[str]) -> str:
    parts = []
    for key in keys:
        value = row[key]
        if missing(value):
            continue
        if key == "hp_lr" and "tuned_lr" in keys and not missing(row.get("tuned_lr")):
            continue  # the tuned lr says it, as "tuned lr"
        name = key.removeprefix("hp_").replace("_", " ")
        shown = fmt_value(value, key)
        parts.append(shown if key in ("arch", "optimizer") else f"{name} {shown}")
    return " / ".join(parts)


def _marked_name(row: pd.Series, keys: Sequence[str]) -> str:
    """The cell's name; a bidirectional memory cell says it reads the signal within k
    steps (compare's ``reach``), so its accuracy never reads as a long memory."""
    reach = row.get("reach")
    return _cell_name(row, keys) + (
        f" (\u21c4 {reach})" if isinstance(reach, str) and reach else ""
    )


def _length_matched_text(
    best: pd.Series, table: pd.DataFrame, baselines: Mapping[str, Any] | None
) -> str:
    """Sentiment: the best cell against the bag of words on the same tokens (its length),
    and how far the whole-document bag of words (which reads beyond the models' length)
    is above or below that; "" when the baselines have no length-matched entry."""
    rows = baseline_rows(dict(baselines) if baselines else None)
    length = best.get("length") if "length" in best.index else None
    if missing(length):
        length = (table.attrs.get("setting") or {}).get("length")
    if missing(length):
        return ""
    size = best.get("train_size") if "train_size" in best.index else None
    if missing(size):
        size = (table.attrs.get("setting") or {}).get("train_size")
    size = None if missing(size) else int(size)
    rows = [r for r in rows if r.get("train_size") == size]  # the same training set
    at = [r for r in rows if r["name"] == BOW and r["length"] == int(length)]
    whole = [r for r in rows if r["name"] == BOW_WHOLE]
    if not at:
        return ""
    same, diff = at[0]["score"], float(best["mean"]) - at[0]["score"]
    text = (
        f" At its length ({int(length)} tokens) the bag of words on the same tokens "
        f"(bow-logreg) scores {same:.3f}: the best cell is {abs(diff):.3f} "
        f"{'above' if diff >= 0 else 'below'} it."
    )
    if whole:
        gap = whole[0]["score"] - same
        text += (
            f" The whole-document bow-logreg, which reads beyond the models' {int(length)} "
            f"tokens, scores {whole[0]['score']:.3f}, {abs(gap):.3f} "
            f"{'above' if gap >= 0 else 'below'} the same-length one."
        )
    return text


def _score(row: pd.Series) -> str:
    seeds = int(row["n_scored"]) if not missing(row["n_scored"]) else 0
    solved = f", {row['solved']}" if isinstance(row.get("solved"), str) and row["solved"] else ""
    return f"{fmt_ci(row['mean'], row['ci_low'], row['ci_high'])} ({seeds} seeds{solved})"


def _cell_key(values: Iterable[Any]) -> tuple:
    """A cell's key with NaN (a parameter its arch does not use) as None: NaN != NaN, so
    a key holding it would never be found again."""
    return tuple(None if missing(v) else v for v in values)


def _seed_scores(sub: pd.DataFrame, keys: Sequence[str]) -> dict[tuple, list[float]]:
    out: dict[tuple, list[float]] = {}
    for key, group in sub.groupby(list(keys), dropna=False, sort=False):
        parts = key if isinstance(key, tuple) else (key,)
        out[_cell_key(parts)] = pd.to_numeric(group["test_headline"], errors="coerce").tolist()
    return out


def _p_text(p: float) -> str:
    if not math.isfinite(p):
        return "no test (fewer than 2 seeds)"
    verdict = "significant" if p < stats.ALPHA else "not significant"
    shown = "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
    return f"Welch {shown}, {verdict}"


def _factor_effect(
    sub: pd.DataFrame, keys: Sequence[str], factor: str, table: pd.DataFrame
) -> list[str]:
    """For each setting of the other keys: the factor's first vs last level (length) or
    best vs worst level (optimizer), with a two-sided Welch test on the seeds."""
    levels = table.loc[table["kind"] == KIND_MODEL, factor].dropna().unique().tolist()
    if len(levels) < 2:
        return []
    scores = _seed_scores(sub, keys)
    others = [k for k in keys if k != factor]
    models = table[table["kind"] == KIND_MODEL]
    parts = []
    for _, group in models.groupby(others, dropna=False, sort=False):
        group = group[group["mean"].notna()]
        if len(group) < 2:
            continue
        if factor == "length":
            group = group.sort_values("length")
            first, last = group.iloc[0], group.iloc[-1]
        else:
            group = group.sort_values("mean", ascending=False, kind="stable")
            first, last = group.iloc[0], group.iloc[-1]
        key_of = lambda row: _cell_key(row[k] for k in keys)  # noqa: E731
        p = stats.welch_p(scores.get(key_of(first), []), scores.get(key_of(last), []))
        name = _cell_name(group.iloc[0], others) or "all"
        if factor == "length":
            change = f"{first['mean']:.3f} → {last['mean']:.3f}"
        else:
            change = (
                f"{fmt_value(first[factor])} {first['mean']:.3f} vs "
                f"{fmt_value(last[factor])} {last['mean']:.3f}"
            )
        parts.append(f"{name}: {change} ({_p_text(p)})")
    return parts


def data_statements(dataset: str, card: Mapping[str, Any] | None) -> list[Statement]:
    """What the data card holds against the verdict: leakage, entity types train lacks."""
    from rnnbench.data.datacard import leakage_text, unseen_tags_text

    card = card or {}
    link = Link("data card", f"{SUMMARY_ROOT}/{dataset}/datacard.html")
    out: list[Statement] = []
    if leaks(card):
        out.append(
            [
                f"**Leakage**: {leakage_text(card['leakage'])}; every run of this dataset is "
                "flagged `leakage`, so no cell is ranked and its test scores are inflated. ",
                link,
            ]
        )
    if card.get("unseen_tag_types"):
        out.append(
            [
                "Entity types that train never has (a model can only miss them): "
                f"{unseen_tags_text(card['unseen_tag_types'])}. ",
                link,
            ]
        )
    return out


def _best_cell_statement(
    table: pd.DataFrame, baselines: Mapping[str, Any] | None, comparison: Link
) -> Statement:
    """The best cell, the cells not significantly worse than it (or those worse), and the
    baseline it beats; or why no cell can be ranked."""
    keys = list(table.attrs["parameters"])
    headline = table.attrs["headline_metric"]
    models = table[table["kind"] == KIND_MODEL]
    best = models[models["mark"] == stats.MARK_BEST]
    if best.empty:
        return [
            f"No cell can be ranked best (each needs {stats.MIN_SEEDS_TO_MARK} scored "
            "seeds and no flagged run); see the ",
            comparison,
            ".",
        ]
    row = best.iloc[0]
    tied = models[models["mark"] == stats.MARK_NOT_WORSE]
    text = (
        f"Best cell: **{_marked_name(row, keys)}**, test {headline.replace('_', ' ')} "
        f"{_score(row)}, mean ± half-width of the 95% t-interval."
    )
    if len(tied):
        names = ", ".join(f"{_marked_name(r, keys)} ({r['mean']:.3f})" for _, r in tied.iterrows())
        text += f" Not significantly worse: {names}."
    else:
        worse = models[(models["mark"] == "") & (models.index != best.index[0])]
        names = ", ".join(f"{_cell_name(r, keys)} ({r['mean']:.3f})" for _, r in worse.iterrows())
        text += f" Significantly worse or unranked: {names}." if names else " It is the only cell."
    return [text + _baseline_text(row, table, baselines) + " ", comparison]


def _baseline_text(
    best: pd.Series, table: pd.DataFrame, baselines: Mapping[str, Any] | None
) -> str:
    """The baseline beside the best cell: the one of its length where there is one
    (:func:`_length_matched_text`), the best baseline otherwise; empty without any."""
    matched = _length_matched_text(best, table, baselines)
    base = table[table["kind"] != KIND_MODEL]
    if matched or not len(base):
        return matched
    best_base = base.loc[base["mean"].astype(float).idxmax()]
    if missing(best_base["mean"]):
        return ""
    return (
        f" Best baseline: {str(best_base['arch']).removeprefix('baseline: ')} "
        f"{float(best_base['mean']):.3f}."
    )


def _factor_statements(sub: pd.DataFrame, table: pd.DataFrame, root: str) -> list[Statement]:
    """What sequence length and the optimizer changed (or that the grid has one value)."""
    keys = list(table.attrs["parameters"])
    out: list[Statement] = []
    for factor, label, kind in (
        ("length", "Sequence length", "metric_vs_length"),
        ("optimizer", "Optimizer", "heatmap"),
    ):
        figure = Link(kind.replace("_", " "), f"{root}/plots/{kind}.svg")
        if factor not in keys:
            value = table.attrs.get("setting", {}).get(factor)
            shown = f" ({fmt_value(value)})" if value is not None else ""
            out.append([f"{label}: one value in this grid{shown}, so no effect to report."])
            continue
        if factor == "optimizer":
            out += _optimizer_statements(with_tuned_lr(sub), table, root)
            continue
        effects = _factor_effect(sub, keys, factor, table)
        body = "; ".join(effects) if effects else "too few scored cells to compare"
        out.append([f"{label} (shortest → longest): {body}. ", figure])
    return out


def _flag_statement(sub: pd.DataFrame, comparison: Link) -> Statement:
    """How many runs are flagged, and by which flag (or that none is)."""
    flagged_runs = sub[sub["flags"].map(lambda f: bool(split_flags(f)))]
    if flagged_runs.empty:
        return [f"No run is flagged ({len(sub)} runs checked). ", comparison]
    counts: dict[str, int] = {}
    for flags in flagged_runs["flags"]:
        for flag in split_flags(flags):
            counts[flag] = counts.get(flag, 0) + 1
    why = ", ".join(f"{flag}: {n}" for flag, n in counts.items())
    return [
        f"{len(flagged_runs)} of {len(sub)} runs flagged ({why}); their cells are "
        "shown but never ranked. ",
        comparison,
    ]


def dataset_statements(
    runs: pd.DataFrame,
    dataset: str,
    baselines: Mapping[str, Any] | None = None,
    card: Mapping[str, Any] | None = None,
) -> list[Statement]:
    """The statements of one dataset, each ending with the link to its evidence; ``card``
    is its data card."""
    table = comparison_table(runs, dataset, baselines)
    keys = list(table.attrs["parameters"])
    sub = runs[runs["dataset"] == dataset]
    root = f"{SUMMARY_ROOT}/{dataset}"
    comparison = Link("comparison table", f"{root}/comparison.html")
    models = table[table["kind"] == KIND_MODEL]
    out: list[Statement] = data_statements(dataset, card)
    out.append(_best_cell_statement(table, baselines, comparison))
    out += _factor_statements(sub, table, root)
    edges = edge_notes(models.to_dict("records"), keys)
    if edges:
        out.append([edges[0][0].upper() + edges[0][1:] + " ", comparison])
    if reports_solved(sub["task"]) and "length" in sub:
        out += _memory_statements(sub, table, root)
    elif budget.TRAIN_SIZE in sub and sub[budget.TRAIN_SIZE].notna().any():
        out += _budget_statements(sub, root)
    out.append(_flag_statement(sub, comparison))
    return out


def _flagged(count: Any) -> bool:
    return not missing(count) and int(count) > 0


def _ranking(
    cells: pd.DataFrame, scores: dict[tuple, list[float]], keys: Sequence[str], headline: str
) -> tuple[list[str], str]:
    """The optimizers of one group of cells, best first: ``(order, text)``. Each gives its
    test mean, seeds and lr (tuned or fixed), and every one after the best its two-sided
    Welch test against the best's seeds. Flagged cells are listed last, unranked."""
    cells = cells.sort_values("mean", ascending=False, kind="stable", na_position="last")
    clean = cells[~cells["flagged_runs"].map(_flagged)]
    ranked = clean[clean["n_scored"].fillna(0).astype(int) >= stats.MIN_SEEDS_TO_MARK]
    best = ranked.iloc[0] if len(ranked) else None
    best_scores = [] if best is None else scores.get(_cell_key(best[k] for k in keys), [])
    parts, order = [], []
    for _, row in (pd.concat([clean, cells.drop(clean.index)])).iterrows():
        seeds = int(row["n_scored"]) if not missing(row["n_scored"]) else 0
        lr = row[TUNED_LR] if TUNED_LR in row and not missing(row[TUNED_LR]) else row.get("hp_lr")
        lr_text = f", lr {fmt_value(lr, 'hp_lr')}" if not missing(lr) else ""
        name = str(row["optimizer"])
        if _flagged(row["flagged_runs"]):
            parts.append(f"{name} ⚠ flagged ({str(row['flags']).replace(';', ', ')}), unranked")
            continue
        score = f"{fmt_ci(row['mean'], row['ci_low'], row['ci_high'])} ({seeds} seeds{lr_text}"
        shown = f"{name} {score}"
        if best is not None and row.name == best.name:
            parts.append(f"**{name}** {score}; best)")
        elif best is not None:
            p = stats.welch_p(best_scores, scores.get(_cell_key(row[k] for k in keys), []))
            parts.append(f"{shown}; vs {best['optimizer']}: {_p_text(p)})")
        else:
            parts.append(f"{shown})")
        order.append(name)
    return order, "; ".join(parts)


def _optimizer_statements(sub: pd.DataFrame, table: pd.DataFrame, root: str) -> list[Statement]:
    """The optimizer question, per architecture (and per setting of every other varying
    key): the optimizers ranked at their tuned lrs, each with its test score, seed count
    and Welch test against the best; where the same cells also ran at fixed lrs, that
    ranking beside it and whether tuning changed it. Without tuned cells, the ranking at
    the fixed lrs, said to be so."""
    keys = list(table.attrs["parameters"])
    headline = str(table.attrs["headline_metric"]).replace("_", " ")
    others = [k for k in keys if k not in ("optimizer", *LR_KEYS, "hp_momentum", "hp_weight_decay")]
    models = table[(table["kind"] == KIND_MODEL) & table["optimizer"].notna()]
    tuned = models[TUNED_LR].notna() if TUNED_LR in models else pd.Series(False, models.index)
    scores = _seed_scores(sub, keys)
    figures = [Link("heatmap", f"{root}/plots/heatmap.svg")]
    if tuned.any():
        figures.append(Link("lr sensitivity", f"{root}/plots/lr_sensitivity.svg"))
    lines = []
    for _, group in models.groupby(others, dropna=False, sort=False):
        group_tuned, group_fixed = group[tuned[group.index]], group[~tuned[group.index]]
        main = group_tuned if group_tuned["optimizer"].nunique() >= 2 else group_fixed
        if main["optimizer"].nunique() < 2:
            continue
        name = _cell_name(group.iloc[0], others) or "all"
        order, ranking = _ranking(main, scores, keys, headline)
        how = "each at its tuned lr" if main is group_tuned else "at fixed lrs (not tuned)"
        line = f"{name}, {how}: {ranking}"
        if main is group_tuned and group_fixed["optimizer"].nunique() >= 2:
            fixed_order, _ = _ranking(group_fixed, scores, keys, headline)
            shared = [o for o in fixed_order if o in order]
            tuned_shared = [o for o in order if o in shared]
            change = "the same order" if shared == tuned_shared else "tuning changes the order"
            line += (
                f". At fixed lrs: {' > '.join(fixed_order)}; tuned: {' > '.join(tuned_shared)} "
                f"({change})"
            )
        lines.append(line)
    if not lines:
        pairs = ", ".join(sorted({f"{r['arch']} {r['optimizer']}" for _, r in models.iterrows()}))
        return [[f"Optimizer: one per architecture here ({pairs}), so no optimizer comparison."]]
    statement: Statement = [
        f"Optimizer, ranked per architecture (test {headline}, mean ± 95% half-width; "
        f"two-sided Welch test against the best on the seeds): {' | '.join(lines)}. "
    ]
    for i, figure in enumerate(figures):
        statement += [", " if i else "", figure]
    return [statement]


def _solved_by_length(
    runs: pd.DataFrame, signal_at: Any, marked: dict[str, set]
) -> dict[int, dict[str, tuple[int, int]]]:
    """(solved seeds, seeds) per length and architecture; each bidirectional architecture's
    dependency steps are added to ``marked``."""
    by_length: dict[int, dict[str, tuple[int, int]]] = {}
    for (length, arch), cell in runs.groupby(["length", "arch"]):
        by_length.setdefault(int(length), {})[str(arch)] = stats.solved(cell["test_headline"])
        if stats.is_bidirectional(str(arch)):
            steps = stats.dependency_steps(str(arch), int(length), signal_at)
            marked.setdefault(str(arch), set()).add(steps)
    return by_length


def _ahead_at(
    by_length: dict[int, dict[str, tuple[int, int]]], marked: Mapping[str, Any]
) -> dict[str, list[int]]:
    """The lengths at which each architecture solves more seeds than every other one
    (bidirectional ones are not counted; a tie is nobody's)."""
    ahead: dict[str, list[int]] = {}
    for length, archs in sorted(by_length.items()):
        counted = {a: v for a, v in archs.items() if a not in marked}
        if len(counted) > 1:
            best = max(k for k, _ in counted.values())
            leaders = [a for a, (k, _) in counted.items() if k == best]
            if len(leaders) == 1:
                ahead.setdefault(leaders[0], []).append(length)
    return ahead


def _ahead_verdict(
    by_length: dict[int, dict[str, tuple[int, int]]], marked: Mapping[str, Any]
) -> str:
    """Which architecture is ahead at which length; empty with fewer than two counted."""
    archs = sorted({a for v in by_length.values() for a in v if a not in marked})
    if len(archs) < 2:
        return ""
    ahead = _ahead_at(by_length, marked)
    parts = [f"{a} is ahead at length {', '.join(map(str, ahead[a]))}" for a in ahead]
    behind = [a for a in archs if a not in ahead]
    if behind:
        parts.append(
            f"{', '.join(behind)} {'is' if len(behind) == 1 else 'are'} ahead at no length"
        )
    return "; ".join(parts)


def _bidirectional_statements(marked: Mapping[str, set], root: str) -> list[Statement]:
    """One statement per bidirectional architecture: the short dependency it reads."""
    out: list[Statement] = []
    for arch, steps in sorted(marked.items()):
        known = sorted(s for s in steps if s is not None)
        within = f"within {', '.join(map(str, known))} steps" if known else "from either end"
        out.append(
            [
                f"\u21c4 {arch} is bidirectional: it reads the signal {within} of an end at "
                "every length, a short dependency; it is not counted as solving a long one. ",
                Link("comparison table", f"{root}/comparison.html"),
            ]
        )
    return out


def _memory_statements(sub: pd.DataFrame, table: pd.DataFrame, root: str) -> list[Statement]:
    """The memory task's answer: which architecture solves which length, in how many seeds.

    A mean accuracy hides a split outcome (one seed solves, two stay at chance), so the
    verdict is per length on the solved fraction (:func:`stats.solved`): an architecture
    is *ahead* at a length when it solves more seeds than every other one there. A
    bidirectional architecture reads the signal within k steps of an end
    (:func:`stats.dependency_steps`): it is marked, and never counted as ahead. With
    several training-set sizes (grid.train_sizes) the verdict is per size.
    """
    figure = Link("metric vs length", f"{root}/plots/metric_vs_length.svg")
    sized = budget.TRAIN_SIZE in sub and sub[budget.TRAIN_SIZE].notna().any()
    sizes = sub[budget.TRAIN_SIZE] if sized else pd.Series(None, index=sub.index)
    keyed = sub.assign(_size=sizes.map(budget.size_text))
    signal = sub["signal_index"].dropna() if "signal_index" in sub else pd.Series(dtype=float)
    signal_at = signal.iloc[0] if len(signal) else None
    lines, verdicts, marked = [], [], {}
    for size, at_size in keyed.groupby("_size", sort=False):
        by_length = _solved_by_length(at_size, signal_at, marked)
        lead = f"{size} sequences, " if sized else ""
        for length, archs in sorted(by_length.items()):
            lines.append(
                f"{lead}length {length}: "
                + ", ".join(
                    f"{a} {k}/{n}" + (" (\u21c4)" if a in marked else "")
                    for a, (k, n) in sorted(archs.items())
                )
            )
        verdict = _ahead_verdict(by_length, marked)
        if verdict:
            verdicts.append((f"with {size} training sequences: " if sized else "") + verdict)
    out: list[Statement] = [
        [
            f"Seeds that solve each length (test accuracy ≥ {stats.SOLVED_ACCURACY:g}): "
            + "; ".join(lines)
            + ". ",
            figure,
        ]
    ]
    out += _bidirectional_statements(marked, root)
    if verdicts:
        setting = table.attrs.get("setting") or {}
        out.append(
            [
                "; ".join(verdicts)
                + " (ahead: solves more seeds than every other architecture there; a tie is "
                "not ahead), under this "
                f"setup: {setting_text(setting) or 'see the comparison table'}. ",
                Link("comparison table", f"{root}/comparison.html"),
            ]
        )
    if sized:
        out += _budget_statements(sub, root)
    return out


def _budget_statements(sub: pd.DataFrame, root: str) -> list[Statement]:
    """Where rankings cross with the training-set size, and (memory) the smallest size that
    solves each length (:mod:`budget`)."""
    dataset = str(sub["dataset"].iloc[0])
    figure = Link("metric vs training-set size", f"{root}/plots/metric_vs_train_size.svg")
    out: list[Statement] = [
        [
            "Rankings across training-set sizes: "
            + "; ".join(budget.crossing_statements(sub, dataset))
            + ". ",
            figure,
        ]
    ]
    if reports_solved(sub["task"]):
        frame = budget.solved_by_size(sub, dataset)
        out.append(
            [
                "Smallest training set at which a majority of seeds solve each length: "
                + budget.smallest_statement(frame)
                + ". ",
                Link("solved by training-set size", f"{root}/solved_by_size.html"),
            ]
        )
    return out


def published_statements(
    runs: pd.DataFrame, published: Sequence[Mapping[str, Any]]
) -> list[Statement]:
    """One statement per published entry (per training-set size where the grid has
    several): its verdict and the numbers behind it; then, for an entry measured at
    several sizes, at which sizes it holds."""
    if not published:
        return []
    table = published_vs_measured(runs, published)
    link = Link("published vs measured", f"{SUMMARY_ROOT}/published.html")
    out: list[Statement] = []
    held: dict[tuple, list[str]] = {}
    for _, row in table.iterrows():
        sign = {"at_least": "≥ ", "at_most": "≤ "}.get(row["relation"], "")
        measured = fmt_ci(row["measured"], row["ci_low"], row["ci_high"]) or "–"
        seeds = int(row["n_scored"]) if not missing(row["n_scored"]) else 0
        size = row.get("train_size")
        at = "" if missing(size) else f", {int(size):,} training sequences"
        short = short_verdict(str(row["verdict"]))
        out.append(
            [
                f"{row['source']}, {row['dataset']} {row['arch']}/{row['optimizer']}/len "
                f"{fmt_value(row['length'])}{at}, test {str(row['metric']).replace('_', ' ')}: "
                f"published {sign}{float(row['published']):g}, measured {measured} "
                f"({seeds} seeds): **{short}**"
                + (
                    f"; control beside it: {row['control']}"
                    if not missing(row.get("control"))
                    else ""
                )
                + ". ",
                link,
            ]
        )
        if at:
            key = (row["source"], row["dataset"], row["arch"], row["length"], row["metric"])
            held.setdefault(key, [])
            if short == "reproduced":
                held[key].append(f"{int(size):,}")
    for (source, dataset, arch, length, metric), sizes in held.items():
        where = f"at {', '.join(sizes)} training sequences" if sizes else "at no size in this grid"
        out.append(
            [
                f"{source}: {dataset} {arch}/len {fmt_value(length)} ({metric.replace('_', ' ')}) "
                f"holds {where}. ",
                link,
            ]
        )
    return out


def build_summary(
    runs: pd.DataFrame,
    datasets: Sequence[str],
    baselines: Mapping[str, Mapping[str, Any] | None] | None = None,
    published: Sequence[Mapping[str, Any]] = (),
    cards: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[tuple[str, list[Statement]]]:
    """``[(section title, statements)]``: one section per dataset with runs, then the
    published numbers; ``cards`` are the datasets' data cards."""
    baselines = baselines or {}
    cards = cards or {}
    known = set(runs["dataset"].dropna().astype(str)) if "dataset" in runs else set()
    sections = []
    for name in datasets:
        if name not in known:
            sections.append(
                (name, [["No finished runs yet."], *data_statements(name, cards.get(name))])
            )
            continue
        statements = dataset_statements(runs, name, baselines.get(name), cards.get(name))
        sections.append((name, statements))
    entries = published_statements(runs, published)
    if entries:
        sections.append(("Published vs measured", entries))
    return sections


# --- rendering --------------------------------------------------------------------------


def _md_link(link: Link, root: str = SUMMARY_ROOT) -> str:
    relative = link.path.removeprefix(SUMMARY_ROOT + "/")
    if root != SUMMARY_ROOT and "/plots/" in relative:
        relative = "../" + relative  # summarize-all draws no figures: the per-run ones
    return f"[{link.label}]({relative})"


def _rst_text(text: str) -> str:
    # Markdown's **bold** is RST's too; escape what RST would read as markup.
    return text.replace("\\", "\\\\").replace("`", "\\`").replace("|", "\\|").replace("_", "\\_")


def _rst_link(link: Link) -> str:
    # The report's own links (Snakemake's rst_links) open a result the same way.
    target = f"javascript:app.showResultInfo('{quote(link.path, safe='')}')"
    return f"`{link.label} <{target}>`__"


def render_markdown(sections: list[tuple[str, list[Statement]]], root: str = SUMMARY_ROOT) -> str:
    lines = ["# Summary: the answer first", ""]
    for title, statements in sections:
        lines += [f"## {title}", ""]
        for statement in statements:
            body = "".join(p if isinstance(p, str) else _md_link(p, root) for p in statement)
            lines.append(f"- {body}")
        lines.append("")
    return "\n".join(lines)


def render_rst(sections: list[tuple[str, list[Statement]]]) -> str:
    """The summary for the landing page (its headings one level below the page's)."""
    lines = []
    for title, statements in sections:
        heading = _rst_text(title)
        lines += [f"**{heading}**", ""]
        for statement in statements:
            body = "".join(_rst_text(p) if isinstance(p, str) else _rst_link(p) for p in statement)
            lines.append(f"- {body}")
        lines.append("")
    return "\n".join(lines)


def union_published(config_paths: Sequence[str | Path], datasets: Sequence[str]) -> list[Any]:
    """The ``published`` entries of every config file (config.yaml, presets/*.yaml), each
    once, in file order, kept when its dataset has runs: every seed experiment run."""
    import yaml

    seen, entries = set(), []
    for path in config_paths:
        try:
            config = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as err:
            raise AnalysisError(f"{path}: cannot read the config: {err}") from None
        for entry in config.get("published") or []:
            key = json.dumps(entry, sort_keys=True, default=str)
            if key not in seen and entry.get("dataset") in datasets:
                seen.add(key)
                entries.append(entry)
    return entries


def summarize_all(
    metrics: Sequence[str | Path],
    configs: Sequence[str | Path],
    baselines_dir: str | Path,
    out_dir: str | Path,
    datacards: Sequence[str | Path] = (),
) -> list[str]:
    """runs.csv of every run on disk, published vs measured over every config's published
    numbers, and the summary, under ``out_dir`` (the workflow's compare_all rule writes
    the comparison table of each dataset beside them); the datasets, in order."""
    from rnnbench.analysis.collect import collect_runs, load_datacards, write_runs_csv
    from rnnbench.analysis.published_page import write_published

    out = Path(out_dir)
    cards = load_datacards(datacards)
    write_runs_csv([str(p) for p in metrics], out / "runs.csv", cards)
    runs = collect_runs([str(p) for p in metrics], cards)
    datasets = list(dict.fromkeys(runs["dataset"].dropna().astype(str))) if len(runs) else []
    baselines = {}
    for name in datasets:
        path = Path(baselines_dir) / f"{name}.json"
        baselines[name] = read_json(path, AnalysisError) if path.exists() else None
    published = union_published(configs, datasets)
    table = published_vs_measured(runs, published)
    write_published(table, out / "published.csv", out / "published.html")
    sections = build_summary(runs, datasets, baselines, published, cards)
    write_text_atomic(out / "summary.md", render_markdown(sections, root=str(out)))
    return datasets
