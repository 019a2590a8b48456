"""``rnnbench baselines | aggregate | compare``: the analysis stage as the rules call it.

:func:`register` adds the three subcommands to the main parser's subparsers; each
handler returns an exit status (errors that name a file are AnalysisError, which
``rnnbench.cli.main`` prints without a traceback).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rnnbench.analysis.collect import AnalysisError
from rnnbench.experiment.tasks import task_of
from rnnbench.io import read_json

COMMANDS: dict[str, str] = {
    "baselines": "compute the majority / bag-of-words / most-frequent-tag baselines",
    "aggregate": "collect every run's metrics.json into runs.csv",
    "compare": "one dataset's comparison table (CSV and HTML) from runs.csv",
    "baselines-merge": "a cross-validated dataset's baselines: the mean over its folds",
    "solved-by-size": "memory task: solved fraction per (arch, length, training-set size)",
}


def _read_lines(path: str) -> list[str]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise AnalysisError(f"{path}: cannot read the list of metrics files: {err}") from None
    return [line.strip() for line in text.splitlines() if line.strip()]


def cmd_baselines(args: argparse.Namespace) -> int:
    from rnnbench.analysis.baselines import compute_baselines, write_baselines

    if task_of(args.task).generated:
        if not args.encoded:
            raise AnalysisError("baselines --task memory needs --encoded NPZ [NPZ ...]")
    elif not (args.tokens_dir and args.vocab):
        raise AnalysisError(f"baselines --task {args.task} needs --tokens-dir and --vocab")
    groups = None
    if args.groups_json:
        try:
            groups = json.loads(args.groups_json)
        except ValueError as err:
            raise AnalysisError(f"--groups-json is not valid JSON: {err}") from None
        if not isinstance(groups, list):
            raise AnalysisError("--groups-json must be a JSON list of groups")
    result = compute_baselines(
        args.task,
        args.tokens_dir,
        args.vocab,
        encoded=args.encoded,
        dataset=args.dataset,
        vectorizer=args.vectorizer,
        max_features=args.max_features,
        groups=groups,
        truncating=args.truncating,
    )
    write_baselines(args.out, result)
    return 0


def cmd_baselines_merge(args: argparse.Namespace) -> int:
    from rnnbench.analysis.baselines import merge_fold_baselines, write_baselines

    write_baselines(args.out, merge_fold_baselines([_load_json(p) for p in args.folds]))
    return 0


def cmd_aggregate(args: argparse.Namespace) -> int:
    from rnnbench.analysis.collect import load_datacards, write_runs_csv

    paths = list(args.metrics or [])
    if args.metrics_from:
        paths += _read_lines(args.metrics_from)
    write_runs_csv(paths, args.out, load_datacards(args.datacards))
    return 0


def _load_json(path: str) -> dict[str, Any]:
    return read_json(path, AnalysisError, "baselines")


def cmd_compare(args: argparse.Namespace) -> int:
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


def cmd_solved_by_size(args: argparse.Namespace) -> int:
    from rnnbench.analysis.budget import write_solved_by_size
    from rnnbench.analysis.collect import read_runs_csv

    write_solved_by_size(read_runs_csv(args.runs), args.dataset, args.csv, args.html)
    return 0


def register(subparsers: Any) -> None:
    """Add ``baselines``, ``aggregate`` and ``compare`` to an argparse subparsers object."""
    p = subparsers.add_parser("baselines", help=COMMANDS["baselines"])
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
    p.set_defaults(func=cmd_baselines)

    p = subparsers.add_parser("baselines-merge", help=COMMANDS["baselines-merge"])
    p.add_argument("--folds", nargs="+", required=True, help="each fold's baselines JSON, in order")
    p.add_argument("--out", required=True, help="the dataset's baselines JSON")
    p.set_defaults(func=cmd_baselines_merge)

    p = subparsers.add_parser("aggregate", help=COMMANDS["aggregate"])
    p.add_argument("--metrics", nargs="*", default=[], help="metrics.json files")
    p.add_argument("--metrics-from", help="a file listing metrics.json paths, one a line")
    p.add_argument(
        "--datacards", nargs="*", default=[], help="the datasets' datacard.json (leakage flag)"
    )
    p.add_argument("--out", required=True, help="runs.csv")
    p.set_defaults(func=cmd_aggregate)

    p = subparsers.add_parser("compare", help=COMMANDS["compare"])
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
    p.set_defaults(func=cmd_compare)

    p = subparsers.add_parser("solved-by-size", help=COMMANDS["solved-by-size"])
    p.add_argument("--runs", required=True, help="runs.csv from `aggregate`")
    p.add_argument("--dataset", required=True)
    p.add_argument("--csv", required=True)
    p.add_argument("--html", required=True)
    p.set_defaults(func=cmd_solved_by_size)
