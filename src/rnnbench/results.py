"""Is a training cell's result whole? A truncated or overwritten metrics.json, model.pt or
history.csv is named, with the command that reruns the cell.

Snakemake reruns a cell whose output is missing, never one whose output exists but is
damaged (a full disk on a copy, a partial rsync, an editor). So the training job checks
its outputs before it ends, and the workflow checks every finished cell when it is parsed
(``workflow/rules/common.smk``), without torch: metrics.json must parse, model.pt (a torch
zip archive) must have its zip directory (truncation cuts it off), history.csv must end
with a newline.
"""

from __future__ import annotations

import json
import os
import shlex
import zipfile
from collections.abc import Iterable
from pathlib import Path

from rnnbench.experiment.paths import HISTORY_FILE as HISTORY
from rnnbench.experiment.paths import METRICS_FILE as METRICS
from rnnbench.experiment.paths import MODEL_FILE as MODEL


def damaged_files(run_dir: str | Path, thorough: bool = False) -> dict[str, str]:
    """``{path: what is wrong}`` for each damaged output of the cell in ``run_dir``.

    A missing file is not listed (Snakemake reruns a cell with a missing output).
    ``thorough`` also checks every member of model.pt against its CRC (reads it whole).
    """
    run_dir = Path(run_dir)
    damaged: dict[str, str] = {}
    for name in (METRICS, HISTORY, MODEL):
        path = run_dir / name
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            continue
        if size == 0:
            damaged[str(path)] = "empty"
            continue
        why = _check(path, name, thorough)
        if why:
            damaged[str(path)] = why
    return damaged


def _check(path: Path, name: str, thorough: bool) -> str | None:
    try:
        if name == METRICS:
            with open(path, encoding="utf-8") as handle:
                if not isinstance(json.load(handle), dict):
                    return "not a JSON object"
        elif name == HISTORY:
            with open(path, "rb") as handle:
                handle.seek(-1, os.SEEK_END)
                if handle.read(1) != b"\n":
                    return "its last line is cut off (no final newline): truncated"
        else:
            with zipfile.ZipFile(path) as archive:
                bad = archive.testzip() if thorough else None
            if bad:
                return f"its member {bad!r} fails its checksum"
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        return f"not valid JSON, truncated or overwritten ({err})"
    except zipfile.BadZipFile as err:
        return f"not a whole torch archive, truncated or overwritten ({err})"
    except OSError as err:
        return f"unreadable ({err.strerror or err})"
    return None


def damaged_runs(run_dirs: Iterable[str | Path]) -> dict[str, str]:
    """Damaged outputs of the finished cells (those with a metrics.json) among ``run_dirs``."""
    damaged: dict[str, str] = {}
    for run_dir in run_dirs:
        if os.path.exists(os.path.join(run_dir, METRICS)):
            damaged.update(damaged_files(run_dir))
    return damaged


def rerun_hint(paths: Iterable[str]) -> str:
    """The commands that rerun the cells owning ``paths`` (and what aggregates them)."""
    quoted = " ".join(shlex.quote(str(p)) for p in paths)
    return (
        f"rerun the cell(s): `snakemake --forcerun {quoted}` (with your usual options), "
        f"or delete the file(s), `rm {quoted}`, and run snakemake"
    )


SHOWN = 20


def damaged_message(damaged: dict[str, str]) -> str:
    """The damaged files (the first SHOWN of them) and the command that reruns their cells."""
    paths = sorted(damaged)
    lines = [f"  {path}: {damaged[path]}" for path in paths[:SHOWN]]
    more = len(paths) - SHOWN
    if more > 0:
        lines.append(
            f"  ... and {more} more damaged file(s): rerun these, then see the rest, or rerun "
            "every cell with `snakemake --forcerun train`"
        )
    return (
        "damaged training results (Snakemake only reruns a cell whose output is missing):\n"
        + "\n".join(lines)
        + "\n"
        + rerun_hint(paths[:SHOWN])
    )
