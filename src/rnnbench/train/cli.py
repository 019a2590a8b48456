"""``rnnbench train``: one training job, as the Snakemake rule calls it."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import Any

from rnnbench.experiment.spec import SpecError
from rnnbench.results import HISTORY, METRICS, MODEL, damaged_files
from rnnbench.train.loop import run_training

EXIT_BAD_SPEC = 2
EXIT_DAMAGED_OUTPUT = 3


def register(subparsers: Any) -> None:
    """Add the ``train`` subcommand to an ``argparse`` subparsers object."""
    parser = subparsers.add_parser(
        "train",
        help="train one (dataset, arch, optimizer, length, seed) spec",
        description="Train one spec on an encoded .npz; writes metrics.json, history.csv "
        "and model.pt into --out. Resumes from --out/checkpoint.pt if a killed run left one.",
    )
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
    parser.set_defaults(func=run)


def _parse_spec(text: str) -> dict[str, Any]:
    if text.startswith("@"):
        with open(text[1:], encoding="utf-8") as handle:
            text = handle.read()
    try:
        spec = json.loads(text)
    except json.JSONDecodeError as err:
        raise SpecError(f"--spec is not valid JSON: {err}") from None
    if not isinstance(spec, dict):
        raise SpecError(f"--spec must be a JSON object, got {type(spec).__name__}")
    return spec


def _tuned_lr(
    spec: dict[str, Any], lr_from: str | None
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The spec with the selected lr of a tuned cell (rnnbench.experiment.tuning), and metrics.json's
    ``lr_tuning`` entry. The selection is ``--lr-from``, else the one the spec names
    (``"lr": {"tuned": "<selected.json>"}``)."""
    from rnnbench.experiment.tuning import TUNED_LR, apply_selected_lr, lr_source

    lr = (spec.get("hparams") or {}).get("lr") if isinstance(spec.get("hparams"), dict) else None
    source = lr_from or lr_source(spec)
    if source is None:
        if isinstance(lr, dict) or lr == TUNED_LR:
            raise SpecError(
                f'hparams.lr {lr!r}: a tuned lr is {{"{TUNED_LR}": "<selected.json>"}}, '
                "or give the selection with --lr-from"
            )
        return spec, None
    spec, annotation = apply_selected_lr(spec, source)
    return spec, {"lr_tuning": annotation}


def run(args: argparse.Namespace) -> int:
    """Run the job; 0 on success (status ok or diverged), 2 for a bad spec."""
    # The rule redirects stderr to the job's log; a caller that already set up
    # logging keeps its own handlers (basicConfig does nothing then).
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Per-epoch progress is INFO; show it even under a caller's WARNING-level root logger.
    logging.getLogger("rnnbench.train").setLevel(logging.INFO)
    try:
        spec, extra = _tuned_lr(_parse_spec(args.spec), args.lr_from)
        run_training(args.data, args.out, spec, threads=args.threads, extra_metrics=extra)
    except SpecError as err:
        # print, not log: the message must reach stderr whatever logging setup the caller has.
        print(f"rnnbench train: invalid spec: {err}", file=sys.stderr)
        return EXIT_BAD_SPEC
    return check_outputs(args.out)


def check_outputs(out_dir: str) -> int:
    """Read back what the job wrote; a damaged output fails the job, so Snakemake removes
    the outputs and reruns the cell instead of keeping a result that cannot be read."""
    damaged = damaged_files(out_dir, thorough=True)
    missing = [
        name for name in (METRICS, HISTORY, MODEL) if not os.path.exists(f"{out_dir}/{name}")
    ]
    for path, why in sorted(damaged.items()):
        print(f"rnnbench train: {path} is damaged: {why}", file=sys.stderr)
    for name in missing:
        print(f"rnnbench train: {out_dir}/{name} was not written", file=sys.stderr)
    return EXIT_DAMAGED_OUTPUT if damaged or missing else 0
