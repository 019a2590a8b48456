"""One training job as the Snakemake rule runs it (``rnnbench train``, wired in
:mod:`rnnbench.cli.train`): read the spec, apply a tuned cell's selected lr, train, and
read back what was written. Returns the job's exit status."""

from __future__ import annotations

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


def run_job(
    data: str, out: str, spec_text: str, threads: int = 1, lr_from: str | None = None
) -> int:
    """Run the job; 0 on success (status ok or diverged), 2 for a bad spec, 3 for an
    output that was not written or cannot be read back. ``spec_text``: the spec as JSON,
    or ``@FILE``."""
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
        spec, extra = _tuned_lr(_parse_spec(spec_text), lr_from)
        run_training(data, out, spec, threads=threads, extra_metrics=extra)
    except SpecError as err:
        # print, not log: the message must reach stderr whatever logging setup the caller has.
        print(f"rnnbench train: invalid spec: {err}", file=sys.stderr)
        return EXIT_BAD_SPEC
    return check_outputs(out)


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
