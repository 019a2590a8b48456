"""``rnnbench train``: one training job, as the Snakemake rule calls it
(:mod:`rnnbench.train.job` runs it; torch is imported only then)."""

from __future__ import annotations

import argparse

from rnnbench.cli.command import Command


def _train_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="encoded dataset (.npz)")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument(
        "--spec",
        required=True,
        help='JSON object {"dataset","arch","optimizer","length","seed","hparams"}; '
        "@FILE reads it from a file",
    )
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument(
        "--lr-from",
        default=None,
        metavar="SELECTED_JSON",
        help="a tuned cell's selected.json (rnnbench tune-select): train at its selected lr "
        '(default: the one the spec names, as hparams.lr = {"tuned": PATH})',
    )


def _cmd_train(args: argparse.Namespace) -> int:
    from rnnbench.train.job import run_job

    return run_job(args.data, args.out, args.spec, threads=args.threads, lr_from=args.lr_from)


COMMANDS = (
    Command(
        "train",
        "train one grid cell",
        _train_options,
        _cmd_train,
        description="Train one spec on an encoded .npz; writes metrics.json, history.csv "
        "and model.pt into --out. Resumes from --out/checkpoint.pt if a killed run left one.",
    ),
)
