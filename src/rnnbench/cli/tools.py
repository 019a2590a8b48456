"""``rnnbench summary | progress | export``: the commands a person runs beside the
workflow (no rule runs summary or progress; export only with the config's ``export``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from rnnbench.cli.command import Command

# --- summary: one model's layers ------------------------------------------------------------


def _summary_options(parser: argparse.ArgumentParser) -> None:
    # The registry's architectures and hparams (an extra architecture module may import
    # torch: this runs only for `rnnbench summary` itself, see rnnbench.cli.command).
    from rnnbench import registry

    parser.add_argument("--arch", required=True, help=f"one of: {', '.join(registry.names())}")
    parser.add_argument("--task", default="sentiment", help="sentiment | ner | memory")
    parser.add_argument(
        "--vocab", type=int, default=None, help="vocabulary size (default 10000; 0 for memory)"
    )
    parser.add_argument("--length", type=int, default=120, help="sequence length L")
    parser.add_argument("--num-classes", type=int, default=2, help="classes, or tags for ner")
    parser.add_argument("--padding", default="post", help="post | pre")
    parser.add_argument(
        "--batch-size", type=int, default=32, help="for the memory estimate (default 32)"
    )
    parser.add_argument(
        "--optimizer", default="adam", help="for the memory estimate's optimizer state"
    )
    hp = parser.add_argument_group("model hparams (default: the arch's config defaults)")
    for key, spec in registry.model_fields().items():
        kind = spec.metadata["kind"]
        kwargs: dict[str, Any] = {
            "default": None,
            "dest": f"hp_{key}",
            "help": spec.metadata["doc"],
        }
        if kind == "int":
            kwargs["type"] = int
        elif kind == "fraction":
            kwargs["type"] = float
        else:
            kwargs["choices"] = spec.metadata["choices"]
        hp.add_argument(f"--{key.replace('_', '-')}", **kwargs)


def _cmd_summary(args: argparse.Namespace) -> int:
    from rnnbench import registry
    from rnnbench.data.arrays import EncodedMeta
    from rnnbench.models.summary import print_summary

    vocab = args.vocab if args.vocab is not None else (0 if args.task == "memory" else 10000)
    meta = EncodedMeta(
        dataset="summary",
        task=args.task,
        length=args.length,
        padding=args.padding,
        truncating="post",
        vocab_size=vocab,
        num_classes=args.num_classes,
    )
    hparams = {
        key: getattr(args, f"hp_{key}")
        for key in registry.model_keys()
        if getattr(args, f"hp_{key}", None) is not None
    }
    return print_summary(
        args.arch, meta, hparams, optimizer=args.optimizer, batch_size=args.batch_size
    )


# --- progress: the grid's state ---------------------------------------------------------------


def _progress_options(parser: argparse.ArgumentParser) -> None:
    from rnnbench.progress import STATES

    parser.add_argument(
        "overlays",
        nargs="*",
        metavar="PRESET",
        help="config overlays (a preset) merged into config.yaml, like --configfile",
    )
    parser.add_argument(
        "--configfile",
        nargs="+",
        default=[],
        metavar="FILE",
        help="config overlays merged into config.yaml, as given to snakemake",
    )
    parser.add_argument(
        "--dataset",
        action="append",
        metavar="NAME",
        help="only this dataset's cells (repeatable; default: datasets_to_run)",
    )
    parser.add_argument(
        "--state",
        action="append",
        choices=STATES,
        help="list only cells in this state (repeatable); the summary still counts all",
    )
    parser.add_argument(
        "-d",
        "--directory",
        default=".",
        help="the workflow directory (as snakemake -d; default: the current directory)",
    )


def _cmd_progress(args: argparse.Namespace) -> int:
    from rnnbench.progress import config_files, format_table, grid_progress

    overlays = [*args.overlays, *args.configfile]
    files = config_files(Path(args.directory), overlays)
    print(f"config: {' + '.join(str(f) for f in files)}", file=sys.stderr)
    cells = grid_progress(args.directory, overlays, args.dataset)
    print(format_table(cells, args.state))
    return 0


# --- export: the runs in TensorBoard or MLflow ------------------------------------------------


def _export_options(parser: argparse.ArgumentParser) -> None:
    from rnnbench.experiment import paths
    from rnnbench.trackers import TRACKERS

    parser.add_argument("--to", choices=TRACKERS, required=True, help="the tracker")
    parser.add_argument("dir", help="the export directory (a TensorBoard logdir / MLflow store)")
    parser.add_argument("--runs", default=paths.RUNS_CSV, help="runs.csv (default: %(default)s)")


def _cmd_export(args: argparse.Namespace) -> int:
    from rnnbench.trackers import OPEN_COMMANDS, export

    counts = export(args.to, Path(args.dir), Path(args.runs))
    print(
        f"{args.to}: {counts['written']} run(s) written, {counts['unchanged']} unchanged, "
        f"{counts['removed']} removed, in {args.dir}; open it with: "
        + OPEN_COMMANDS[args.to].format(dir=args.dir)
    )
    return 0


COMMANDS = (
    Command(
        "summary",
        "print a model's layers and parameter count",
        _summary_options,
        _cmd_summary,
        description="Build one model for a dataset shape and print its layer table.",
    ),
    Command(
        "progress",
        "the training grid's state: done, running, waiting",
        _progress_options,
        _cmd_progress,
        description="Print the training grid's state from the files the jobs write "
        "(metrics.json, history.csv, checkpoint.pt, logs/train): works while Snakemake or "
        "Slurm runs. Run it from the workflow directory with the same --configfile "
        "overlays as the snakemake command.",
    ),
    Command(
        "export",
        "the runs in TensorBoard or MLflow (the trackers extra)",
        _export_options,
        _cmd_export,
        description="``rnnbench export``: the runs in the experiment trackers people use.",
    ),
)
