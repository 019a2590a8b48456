"""``rnnbench check-config | fetch | split | tokenize | vocab | encode | synthesize |
datacard | datacard-html | tune-select``: the config check and the data stage (light:
no torch, pandas or scikit-learn).

Each data command takes the dataset's config section as ``--dataset-config JSON`` (the
rule's ``params:``), explicit input/output paths, and logs progress to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging

from rnnbench.cli.command import Command

SPLITS = ("train", "validation", "test")


def _split_paths(prefix: str, suffix: str) -> dict[str, str]:
    return {split: f"{prefix}/{split}{suffix}" for split in SPLITS}


def _dataset_args(p: argparse.ArgumentParser, *paths: str, name: bool = True) -> None:
    """``--dataset`` (``name``), ``--dataset-config``, then each of ``paths`` (required)."""
    if name:
        p.add_argument("--dataset", required=True)
    p.add_argument("--dataset-config", required=True, help="the dataset's config as JSON")
    for path in paths:
        p.add_argument(path, required=True)


# --- check-config, fetch ------------------------------------------------------------------


def _check_config_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", help="config.yaml first, then each --configfile overlay")
    p.add_argument("--schema", default=None, help="default: the repository's config schema")


def _cmd_check_config(args: argparse.Namespace) -> int:
    from rnnbench.config import check_config_files, schema_path

    for note in check_config_files(args.files, args.schema or schema_path()):
        logging.getLogger("rnnbench").warning("config warning: %s", note)
    print(f"config OK: {' + '.join(args.files)}")
    return 0


def _fetch_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--source", required=True, help="http(s) URL, file:// URL or local path")
    p.add_argument("--sha256", default="", help="expected sha256 (empty: warn and log it)")
    p.add_argument("--out", required=True)
    p.add_argument("--dataset", default="", help="the dataset's name, for messages")
    p.add_argument("--split", default="all", help="the source's split (all: a single url)")


def _cmd_fetch(args: argparse.Namespace) -> int:
    from rnnbench.data.fetch import fetch, source_key

    key = source_key(args.dataset, args.split) if args.dataset else "the dataset's url"
    fetch(args.source, args.out, args.sha256 or None, key=key)
    return 0


# --- the data stage -------------------------------------------------------------------------


def _split_options(p: argparse.ArgumentParser) -> None:
    _dataset_args(p)
    p.add_argument(
        "--source",
        metavar="KEY=PATH",
        action="append",
        required=True,
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


def _cmd_split(args: argparse.Namespace) -> int:
    from rnnbench.data.stages import split_dataset

    sources = dict(item.split("=", 1) for item in args.source)
    ds = json.loads(args.dataset_config)
    split_dataset(args.dataset, ds, sources, args.out_dir, fold=args.fold)
    return 0


def _tokenize_options(p: argparse.ArgumentParser) -> None:
    _dataset_args(p, "--input", "--out", name=False)


def _cmd_tokenize(args: argparse.Namespace) -> int:
    from rnnbench.data.stages import tokenize_split

    tokenize_split(json.loads(args.dataset_config), args.input, args.out)
    return 0


def _vocab_options(p: argparse.ArgumentParser) -> None:
    _dataset_args(p, "--tokens-dir", "--out", name=False)


def _cmd_vocab(args: argparse.Namespace) -> int:
    from rnnbench.data.stages import build_vocab_file

    ds = json.loads(args.dataset_config)
    build_vocab_file(ds, _split_paths(args.tokens_dir, ".jsonl"), args.out)
    return 0


def _encode_options(p: argparse.ArgumentParser) -> None:
    _dataset_args(p)
    p.add_argument("--tokens-dir", required=True)
    p.add_argument("--vocab", required=True)
    p.add_argument("--length", type=int, required=True)
    p.add_argument("--memory-budget-gib", type=float, default=8.0)
    p.add_argument("--out", required=True)


def _cmd_encode(args: argparse.Namespace) -> int:
    from rnnbench.data.stages import encode_dataset

    ds = json.loads(args.dataset_config)
    tokens = _split_paths(args.tokens_dir, ".jsonl")
    encode_dataset(
        args.dataset, ds, tokens, args.vocab, args.length, args.out, args.memory_budget_gib
    )
    return 0


def _synthesize_options(p: argparse.ArgumentParser) -> None:
    _dataset_args(p)
    p.add_argument("--length", type=int, required=True)
    p.add_argument("--out", required=True)


def _cmd_synthesize(args: argparse.Namespace) -> int:
    from rnnbench.data.stages import synthesize_memory

    synthesize_memory(args.dataset, json.loads(args.dataset_config), args.length, args.out)
    return 0


def _datacard_options(p: argparse.ArgumentParser) -> None:
    _dataset_args(p)
    p.add_argument("--split-dir")
    p.add_argument("--tokens-dir")
    p.add_argument("--vocab")
    p.add_argument("--encoded", nargs="*", default=[])
    p.add_argument("--fold", type=int, default=None, help="the cross-validation fold shown")
    p.add_argument("--out", required=True)


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


def _datacard_html_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--card", required=True)
    p.add_argument("--out", required=True)


def _cmd_datacard_html(args: argparse.Namespace) -> int:
    from rnnbench.analysis.datacard_page import datacard_html
    from rnnbench.io import write_text_atomic

    with open(args.card, encoding="utf-8") as handle:
        write_text_atomic(args.out, datacard_html(json.load(handle)))
    return 0


# --- tune-select ----------------------------------------------------------------------------


def _tune_select_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--metrics", nargs="+", required=True, help="trial metrics.json files")
    p.add_argument("--out", required=True, help="selected.json")


def _cmd_tune_select(args: argparse.Namespace) -> int:
    from rnnbench.experiment.tuning import lr_label, write_selection

    record = write_selection(args.metrics, args.out)
    print(
        f"{record['dataset']}/{record['arch']}/{record['optimizer']}/len{record['length']}: "
        f"lr {lr_label(record['selected_lr'])} ({record['metric']} "
        f"{record['selected_validation']:.4f})"
    )
    return 0


COMMANDS = (
    Command(
        "check-config",
        "validate config.yaml + overlays as the Snakefile does; YAML errors name file and line",
        _check_config_options,
        _cmd_check_config,
    ),
    Command("fetch", "copy or download a source and verify its sha256", _fetch_options, _cmd_fetch),
    Command(
        "split", "read a corpus into train/validation/test records", _split_options, _cmd_split
    ),
    Command("tokenize", "tokenize one split", _tokenize_options, _cmd_tokenize),
    Command("vocab", "build the vocabulary from the train split", _vocab_options, _cmd_vocab),
    Command("encode", "encode and pad every split to one length", _encode_options, _cmd_encode),
    Command(
        "synthesize",
        "generate the memory task at one length",
        _synthesize_options,
        _cmd_synthesize,
    ),
    Command("datacard", "summarise a prepared dataset", _datacard_options, _cmd_datacard),
    Command(
        "datacard-html",
        "render a data card as HTML for the report",
        _datacard_html_options,
        _cmd_datacard_html,
    ),
    Command(
        "tune-select",
        "pick a tuned cell's lr from its trials' validation scores",
        _tune_select_options,
        _cmd_tune_select,
        description="Read the trials' metrics.json (one per candidate lr) and write "
        "selected.json: every trial's validation headline metric and the selected lr "
        "(highest validation score; exact ties go to the smallest lr).",
    ),
)
