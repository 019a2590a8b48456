"""``rnnbench baselines | baselines-merge | aggregate | compare | solved-by-size | plot |
published | summarize | summarize-all | lr-figure``: the analysis stage as the rules call
it. Each handler imports the analysis module that does the work (pandas, scikit-learn,
matplotlib) when it runs; errors that name a file are ``AnalysisError``, which
:func:`rnnbench.cli.main` prints without a traceback.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rnnbench.cli.command import Command


def _analysis_error(message: str) -> Exception:
    from rnnbench.analysis.collect import AnalysisError

    return AnalysisError(message)


def _load_json(path: str) -> dict[str, Any]:
    from rnnbench.analysis.collect import AnalysisError
    from rnnbench.io import read_json

    return read_json(path, AnalysisError, "baselines")


# --- baselines, aggregate ---------------------------------------------------------------


def _baselines_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", default=None, help="dataset name (recorded in the JSON)")
    p.add_argument("--task", required=True, choices=["sentiment", "ner", "memory"])
    p.add_argument("--tokens-dir", help="train/validation/test.jsonl (sentiment, ner)")
    p.add_argument("--vocab", help="vocab.json, for the label order (sentiment, ner)")
    p.add_argument("--encoded", nargs="+", default=[], help="encoded .npz file(s) (memory)")
    p.add_argument("--vectorizer", choices=["count", "tfidf"], default="count")
    p.add_argument("--max-features", type=int, default=None, help="BoW vocabulary cap")
    p.add_argument(
        "--groups-json",
        default=None,
        help="the grid's example groups, a JSON list of {length, train_subsample, "
        "eval_subsample, seeds} (baselines.subsample_groups); default: whole splits",
    )
    p.add_argument(
        "--truncating",
        choices=["post", "pre"],
        default="post",
        help="NER, sentiment: which end of a document longer than the length is cut off "
        "(the dataset's truncating: the baselines read the models' tokens)",
    )
    p.add_argument("--out", required=True, help="baselines JSON")


def _groups(groups_json: str | None) -> list[Any] | None:
    if not groups_json:
        return None
    try:
        groups = json.loads(groups_json)
    except ValueError as err:
        raise _analysis_error(f"--groups-json is not valid JSON: {err}") from None
    if not isinstance(groups, list):
        raise _analysis_error("--groups-json must be a JSON list of groups")
    return groups


def _cmd_baselines(args: argparse.Namespace) -> int:
    from rnnbench.analysis.baselines import compute_baselines, write_baselines
    from rnnbench.experiment.tasks import task_of

    if task_of(args.task).generated:
        if not args.encoded:
            raise _analysis_error("baselines --task memory needs --encoded NPZ [NPZ ...]")
    elif not (args.tokens_dir and args.vocab):
        raise _analysis_error(f"baselines --task {args.task} needs --tokens-dir and --vocab")
    result = compute_baselines(
        args.task,
        args.tokens_dir,
        args.vocab,
        encoded=args.encoded,
        dataset=args.dataset,
        vectorizer=args.vectorizer,
        max_features=args.max_features,
        groups=_groups(args.groups_json),
        truncating=args.truncating,
    )
    write_baselines(args.out, result)
    return 0


def _baselines_merge_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--folds", nargs="+", required=True, help="each fold's baselines JSON, in order")
    p.add_argument("--out", required=True, help="the dataset's baselines JSON")


def _cmd_baselines_merge(args: argparse.Namespace) -> int:
    from rnnbench.analysis.baselines import merge_fold_baselines, write_baselines

    write_baselines(args.out, merge_fold_baselines([_load_json(p) for p in args.folds]))
    return 0


def _aggregate_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--metrics", nargs="*", default=[], help="metrics.json files")
    p.add_argument("--metrics-from", help="a file listing metrics.json paths, one a line")
    p.add_argument(
        "--datacards", nargs="*", default=[], help="the datasets' datacard.json (leakage flag)"
    )
    p.add_argument("--out", required=True, help="runs.csv")


def _read_lines(path: str) -> list[str]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise _analysis_error(f"{path}: cannot read the list of metrics files: {err}") from None
    return [line.strip() for line in text.splitlines() if line.strip()]


def _cmd_aggregate(args: argparse.Namespace) -> int:
    from rnnbench.analysis.collect import load_datacards, write_runs_csv

    paths = list(args.metrics or [])
    if args.metrics_from:
        paths += _read_lines(args.metrics_from)
    write_runs_csv(paths, args.out, load_datacards(args.datacards))
    return 0


# --- tables ---------------------------------------------------------------------------------


def _compare_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--runs", required=True, help="runs.csv from `aggregate`")
    p.add_argument("--dataset", required=True)
    p.add_argument("--baselines", default=None, help="baselines JSON from `baselines`")
    p.add_argument("--csv", required=True)
    p.add_argument("--html", required=True)
    p.add_argument("--title", default=None)
    p.add_argument("--confidence", type=float, default=0.95)
    p.add_argument(
        "--alternative",
        choices=["less", "two-sided"],
        default="less",
        help="Welch test vs the best cell: one-sided 'less' (default) or 'two-sided'",
    )


def _cmd_compare(args: argparse.Namespace) -> int:
    from rnnbench.analysis.collect import read_runs_csv
    from rnnbench.analysis.compare import comparison_table
    from rnnbench.analysis.compare_page import write_comparison

    runs = read_runs_csv(args.runs)
    baselines = _load_json(args.baselines) if args.baselines else None
    table = comparison_table(
        runs, args.dataset, baselines, confidence=args.confidence, alternative=args.alternative
    )
    title = args.title or f"{args.dataset}: test {table.attrs['headline_metric']} by grid cell"
    write_comparison(table, args.csv, args.html, title)
    return 0


def _solved_by_size_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--runs", required=True, help="runs.csv from `aggregate`")
    p.add_argument("--dataset", required=True)
    p.add_argument("--csv", required=True)
    p.add_argument("--html", required=True)


def _cmd_solved_by_size(args: argparse.Namespace) -> int:
    from rnnbench.analysis.budget import write_solved_by_size
    from rnnbench.analysis.collect import read_runs_csv

    write_solved_by_size(read_runs_csv(args.runs), args.dataset, args.csv, args.html)
    return 0


def _published_options(p: argparse.ArgumentParser) -> None:
    from rnnbench.published_names import CONFIDENCE, TOLERANCE

    p.add_argument("--runs", required=True, help="runs.csv from `aggregate`")
    p.add_argument(
        "--config-json",
        required=True,
        help="the config's `published` list as JSON (or a config object holding it)",
    )
    p.add_argument("--csv", required=True)
    p.add_argument("--html", required=True)
    p.add_argument("--tolerance", type=float, default=TOLERANCE)
    p.add_argument("--confidence", type=float, default=CONFIDENCE)
    p.add_argument("--title", default="Published vs measured")


def _cmd_published(args: argparse.Namespace) -> int:
    from rnnbench.analysis.collect import read_runs_csv
    from rnnbench.analysis.published import load_published, published_vs_measured
    from rnnbench.analysis.published_page import write_published

    published = load_published(args.config_json)
    runs = read_runs_csv(args.runs)
    table = published_vs_measured(runs, published, args.tolerance, confidence=args.confidence)
    write_published(table, args.csv, args.html, args.title)
    return 0


# --- figures --------------------------------------------------------------------------------


def _plot_options(parser: argparse.ArgumentParser) -> None:
    from rnnbench.experiment.tasks import ALL_PLOT_KINDS

    parser.add_argument("--runs", required=True, help="runs table (results/summary/runs.csv)")
    parser.add_argument("--dataset", required=True, help="dataset name as in runs.csv")
    parser.add_argument("--kind", required=True, choices=ALL_PLOT_KINDS)
    parser.add_argument("--out", required=True, help="output file (.svg)")


def _cmd_plot(args: argparse.Namespace) -> int:
    from rnnbench.analysis import plots

    plots.plot(args.kind, plots.read_runs(args.runs), args.dataset, args.out)
    plots.log.info("wrote %s", args.out)
    return 0


def _lr_figure_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--selected", nargs="*", default=[], help="selected.json files")
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--out", required=True, help="output file (.svg)")


def _cmd_lr_figure(args: argparse.Namespace) -> int:
    from rnnbench.analysis import lr_figure

    lr_figure.lr_figure(args.selected, args.dataset, args.out)
    lr_figure.log.info("wrote %s", args.out)
    return 0


# --- the summary: in words, one dataset or every finished experiment ------------------------


def _summarize_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--runs", required=True, help="runs.csv from `aggregate`")
    p.add_argument(
        "--dataset",
        action="append",
        default=[],
        help="NAME or NAME=baselines.json (repeat; the order of the summary)",
    )
    p.add_argument("--published-json", default=None, help="the config's `published` list")
    p.add_argument(
        "--datacard", action="append", default=[], help="a dataset's datacard.json (repeat)"
    )
    p.add_argument("--md", required=True, help="summary.md")
    p.add_argument("--rst", default=None, help="summary.rst for the report's landing page")


def _cmd_summarize(args: argparse.Namespace) -> int:
    from rnnbench.analysis.collect import load_datacards, read_runs_csv
    from rnnbench.analysis.published import load_published
    from rnnbench.analysis.summary import build_summary, render_markdown, render_rst
    from rnnbench.io import write_text_atomic

    runs = read_runs_csv(args.runs)
    datasets, baselines = [], {}
    for item in args.dataset:
        name, _, path = item.partition("=")
        datasets.append(name)
        baselines[name] = _load_json(path) if path else None
    published = load_published(args.published_json) if args.published_json else []
    sections = build_summary(runs, datasets, baselines, published, load_datacards(args.datacard))
    write_text_atomic(args.md, render_markdown(sections))
    if args.rst:
        write_text_atomic(args.rst, render_rst(sections))
    return 0


def _summarize_all_options(p: argparse.ArgumentParser) -> None:
    from rnnbench.experiment import paths

    p.add_argument("--metrics", nargs="*", default=[], help="every metrics.json on disk")
    p.add_argument(
        "--configs", nargs="*", default=[], help="config.yaml and presets/*.yaml (published)"
    )
    p.add_argument("--baselines-dir", default=paths.BASELINES)
    p.add_argument(
        "--datacards", nargs="*", default=[], help="the datasets' datacard.json (leakage flag)"
    )
    p.add_argument("--out-dir", default=f"{paths.SUMMARY}/all")


def _cmd_summarize_all(args: argparse.Namespace) -> int:
    """Every finished experiment in one place (see :func:`~rnnbench.analysis.summary.summarize_all`)."""
    from rnnbench.analysis.summary import summarize_all

    summarize_all(args.metrics, args.configs, args.baselines_dir, args.out_dir, args.datacards)
    return 0


COMMANDS = (
    Command(
        "baselines",
        "majority, bag-of-words and most-frequent-tag baselines",
        _baselines_options,
        _cmd_baselines,
    ),
    Command(
        "baselines-merge",
        "a cross-validated dataset's baselines, the mean over its folds",
        _baselines_merge_options,
        _cmd_baselines_merge,
    ),
    Command(
        "aggregate", "collect metrics.json files into runs.csv", _aggregate_options, _cmd_aggregate
    ),
    Command(
        "compare",
        "the per-dataset comparison table (CSV + HTML)",
        _compare_options,
        _cmd_compare,
    ),
    Command(
        "solved-by-size",
        "memory task: solved fraction per (arch, length, training-set size)",
        _solved_by_size_options,
        _cmd_solved_by_size,
    ),
    Command(
        "plot",
        "one figure of a dataset's results (SVG)",
        _plot_options,
        _cmd_plot,
        description="Draw one figure (SVG) of one dataset from the runs table. "
        "A figure with nothing to show says 'no data' instead of failing.",
    ),
    Command(
        "published",
        "published vs measured (CSV + HTML)",
        _published_options,
        _cmd_published,
        description="Set each published number (the config's `published` list) beside the "
        "measured mean over seeds, with the difference and a verdict.",
    ),
    Command(
        "summarize",
        "the answer first: a summary per dataset",
        _summarize_options,
        _cmd_summarize,
        description="Summarize every dataset's results in words and numbers: best cell "
        "and cells not significantly worse, length and optimizer effects, flagged runs, "
        "published numbers' verdicts.",
    ),
    Command(
        "summarize-all",
        "every finished experiment in one place",
        _summarize_all_options,
        _cmd_summarize_all,
    ),
    Command(
        "lr-figure",
        "a dataset's lr-sensitivity figure (SVG)",
        _lr_figure_options,
        _cmd_lr_figure,
        description="Validation headline metric vs learning rate of every tuning trial, "
        "one line per architecture x optimizer, one panel per length, selected lr ringed.",
    ),
)
