"""``rnnbench``: the command line the Snakemake rules call (and users may call directly).

Each data subcommand takes the dataset's config section as ``--dataset-config JSON`` (the
rule's ``params:``), explicit input/output paths, and logs progress to stderr.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
from typing import Any

from rnnbench.errors import RnnbenchError

SPLITS = ("train", "validation", "test")
# Modules whose `register(subparsers)` adds these commands; they import torch, pandas or
# scikit-learn, so they are imported only when one of their commands runs. (progress
# imports none of them, but its config loading needs snakemake and jsonschema.)
HEAVY_COMMANDS = {
    "rnnbench.train.cli": {"train": "train one grid cell"},
    "rnnbench.models.summary": {"summary": "print a model's layers and parameter count"},
    "rnnbench.analysis.cli": {
        "baselines": "majority, bag-of-words and most-frequent-tag baselines",
        "aggregate": "collect metrics.json files into runs.csv",
        "compare": "the per-dataset comparison table (CSV + HTML)",
        "baselines-merge": "a cross-validated dataset's baselines, the mean over its folds",
        "solved-by-size": "memory task: solved fraction per (arch, length, training-set size)",
    },
    "rnnbench.analysis.plots": {"plot": "one figure of a dataset's results (SVG)"},
    "rnnbench.analysis.published": {"published": "published vs measured (CSV + HTML)"},
    "rnnbench.analysis.summary": {
        "summarize": "the answer first: a summary per dataset",
        "summarize-all": "every finished experiment in one place",
    },
    "rnnbench.progress": {"progress": "the training grid's state: done, running, waiting"},
    "rnnbench.analysis.lr_figure": {"lr-figure": "a dataset's lr-sensitivity figure (SVG)"},
    "rnnbench.trackers": {"export": "the runs in TensorBoard or MLflow (the trackers extra)"},
}


def _split_paths(prefix: str, suffix: str) -> dict[str, str]:
    return {split: f"{prefix}/{split}{suffix}" for split in SPLITS}


def _cmd_check_config(args: argparse.Namespace) -> int:
    from rnnbench.config import check_config_files, schema_path

    for note in check_config_files(args.files, args.schema or schema_path()):
        logging.getLogger("rnnbench").warning("config warning: %s", note)
    print(f"config OK: {' + '.join(args.files)}")
    return 0


def _cmd_fetch(args: argparse.Namespace) -> int:
    from rnnbench.data.fetch import fetch, source_key

    key = source_key(args.dataset, args.split) if args.dataset else "the dataset's url"
    fetch(args.source, args.out, args.sha256 or None, key=key)
    return 0


def _cmd_split(args: argparse.Namespace) -> int:
    from rnnbench.data.stages import split_dataset

    sources = dict(item.split("=", 1) for item in args.source)
    ds = json.loads(args.dataset_config)
    split_dataset(args.dataset, ds, sources, args.out_dir, fold=args.fold)
    return 0


def _cmd_tokenize(args: argparse.Namespace) -> int:
    from rnnbench.data.stages import tokenize_split

    tokenize_split(json.loads(args.dataset_config), args.input, args.out)
    return 0


def _cmd_vocab(args: argparse.Namespace) -> int:
    from rnnbench.data.stages import build_vocab_file

    ds = json.loads(args.dataset_config)
    build_vocab_file(ds, _split_paths(args.tokens_dir, ".jsonl"), args.out)
    return 0


def _cmd_encode(args: argparse.Namespace) -> int:
    from rnnbench.data.stages import encode_dataset

    ds = json.loads(args.dataset_config)
    tokens = _split_paths(args.tokens_dir, ".jsonl")
    encode_dataset(
        args.dataset, ds, tokens, args.vocab, args.length, args.out, args.memory_budget_gib
    )
    return 0


def _cmd_synthesize(args: argparse.Namespace) -> int:
    from rnnbench.data.stages import synthesize_memory

    synthesize_memory(args.dataset, json.loads(args.dataset_config), args.length, args.out)
    return 0


def _cmd_datacard(args: argparse.Namespace) -> int:
    from rnnbench.data import stages
    from rnnbench.experiment.tasks import task_of

    ds = json.loads(args.dataset_config)
    if task_of(ds["task"]).generated:
        encoded = {int(p.rsplit("len", 1)[1].removesuffix(".npz")): p for p in args.encoded}
        stages.write_memory_datacard(args.dataset, ds, encoded, args.out)
    else:
        stages.write_text_datacard(
            args.dataset,
            ds,
            _split_paths(args.split_dir, ".jsonl"),
            _split_paths(args.tokens_dir, ".jsonl"),
            args.vocab,
            args.out,
            fold=args.fold,
        )
    return 0


def _cmd_datacard_html(args: argparse.Namespace) -> int:
    from rnnbench.analysis.datacard_page import datacard_html
    from rnnbench.io import write_text_atomic

    with open(args.card, encoding="utf-8") as handle:
        write_text_atomic(args.out, datacard_html(json.load(handle)))
    return 0


def _cmd_tune_select(args: argparse.Namespace) -> int:
    from rnnbench.experiment.tuning import lr_label, write_selection

    record = write_selection(args.metrics, args.out)
    print(
        f"{record['dataset']}/{record['arch']}/{record['optimizer']}/len{record['length']}: "
        f"lr {lr_label(record['selected_lr'])} ({record['metric']} "
        f"{record['selected_validation']:.4f})"
    )
    return 0


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rnnbench", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    _add_config_commands(sub)
    _add_data_commands(sub)
    _add_heavy_commands(sub, argv[0] if argv else None)
    return parser


def _add_config_commands(sub: Any) -> None:
    p = sub.add_parser(
        "check-config",
        help="validate config.yaml + overlays as the Snakefile does; YAML errors name file and line",
    )
    p.add_argument("files", nargs="+", help="config.yaml first, then each --configfile overlay")
    p.add_argument("--schema", default=None, help="default: the repository's config schema")
    p.set_defaults(func=_cmd_check_config)

    p = sub.add_parser("fetch", help="copy or download a source and verify its sha256")
    p.add_argument("--source", required=True, help="http(s) URL, file:// URL or local path")
    p.add_argument("--sha256", default="", help="expected sha256 (empty: warn and log it)")
    p.add_argument("--out", required=True)
    p.add_argument("--dataset", default="", help="the dataset's name, for messages")
    p.add_argument("--split", default="all", help="the source's split (all: a single url)")
    p.set_defaults(func=_cmd_fetch)


def _dataset_args(p: argparse.ArgumentParser, name: bool = True) -> None:
    if name:
        p.add_argument("--dataset", required=True)
    p.add_argument("--dataset-config", required=True, help="the dataset's config as JSON")


def _add_data_commands(sub: Any) -> None:
    """The data stage's commands (and tune-select): light, no torch."""
    p = sub.add_parser("split", help="read a corpus into train/validation/test records")
    _dataset_args(p)
    p.add_argument(
        "--source",
        action="append",
        required=True,
        metavar="KEY=PATH",
        help="fetched file per source key (all, or train/validation/test; format lines: "
        "all.<label> or <split>.<label>)",
    )
    p.add_argument(
        "--fold",
        type=int,
        default=None,
        help="write this cross-validation fold's splits (the dataset's split.folds)",
    )
    p.add_argument("--out-dir", required=True)
    p.set_defaults(func=_cmd_split)

    p = sub.add_parser("tokenize", help="tokenize one split")
    _dataset_args(p, name=False)
    p.add_argument("--input", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(func=_cmd_tokenize)

    p = sub.add_parser("vocab", help="build the vocabulary from the train split")
    _dataset_args(p, name=False)
    p.add_argument("--tokens-dir", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(func=_cmd_vocab)

    p = sub.add_parser("encode", help="encode and pad every split to one length")
    _dataset_args(p)
    p.add_argument("--tokens-dir", required=True)
    p.add_argument("--vocab", required=True)
    p.add_argument("--length", type=int, required=True)
    p.add_argument("--memory-budget-gib", type=float, default=8.0)
    p.add_argument("--out", required=True)
    p.set_defaults(func=_cmd_encode)

    p = sub.add_parser("synthesize", help="generate the memory task at one length")
    _dataset_args(p)
    p.add_argument("--length", type=int, required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(func=_cmd_synthesize)

    p = sub.add_parser("datacard", help="summarise a prepared dataset")
    _dataset_args(p)
    p.add_argument("--split-dir")
    p.add_argument("--tokens-dir")
    p.add_argument("--vocab")
    p.add_argument("--encoded", nargs="*", default=[])
    p.add_argument("--fold", type=int, default=None, help="the cross-validation fold shown")
    p.add_argument("--out", required=True)
    p.set_defaults(func=_cmd_datacard)

    p = sub.add_parser("datacard-html", help="render a data card as HTML for the report")
    p.add_argument("--card", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(func=_cmd_datacard_html)

    p = sub.add_parser(
        "tune-select",
        help="pick a tuned cell's lr from its trials' validation scores",
        description="Read the trials' metrics.json (one per candidate lr) and write "
        "selected.json: every trial's validation headline metric and the selected lr "
        "(highest validation score; exact ties go to the smallest lr).",
    )
    p.add_argument("--metrics", nargs="+", required=True, help="trial metrics.json files")
    p.add_argument("--out", required=True, help="selected.json")
    p.set_defaults(func=_cmd_tune_select)


def _add_heavy_commands(sub: Any, command: str | None) -> None:
    # The model and training commands import torch (~2 s); data jobs must not pay for it,
    # so each is registered for real only when it is the command being run.
    for module, commands in HEAVY_COMMANDS.items():
        if command in commands:
            importlib.import_module(module).register(sub)
        else:
            for name, summary in commands.items():
                sub.add_parser(name, help=summary)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    try:
        return args.func(args)
    except RnnbenchError as err:
        logging.getLogger("rnnbench").error("%s", err)
        print(f"rnnbench {args.command}: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
