"""Learning-rate tuning as part of the grid (a dataset's ``grid.tune``).

For each tuned (dataset, arch, optimizer, length) every candidate lr is one *trial*: an
ordinary training job on the tuning seed, written to
``results/tune/<dataset>/<arch>/<optimizer>/len<length>/lr<lr>/``. A trial's spec is
the cell's spec with the tuning seed, ``tune.hparams`` and its own lr, and nothing else,
so adding a candidate leaves every other trial's spec (its Snakemake params) unchanged.

The *selection* (``rnnbench tune-select``) reads the trials' metrics.json and writes
``selected.json`` beside them: the lr whose trial has the highest **validation** headline
metric (the best epoch's, as early stopping saw it; test scores are never read). Exact
ties go to the smallest lr (the conservative choice: of equally good rates, the one
least likely to diverge on another seed). A diverged trial, or one without a finite
validation score, is never selected; if no trial has a score the selection fails.

The grid's own seeds of a tuned cell then train at the selected lr: their spec carries
``"lr": {"tuned": "<dir>/selected.json"}`` (:func:`final_spec`), that file is an input
of their job and ``rnnbench train`` puts its selected lr into the spec, so
metrics.json records the lr actually used (runs.csv ``hp_lr``) and an ``lr_tuning``
entry (runs.csv ``lr_tuned`` true).

This module imports neither torch nor pandas: the Snakefile uses it at parse time.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from rnnbench.errors import ConfigError, RnnbenchError
from rnnbench.experiment.grid import TUNED_KEYS, axis_values, cell_spec, expand_tuned
from rnnbench.experiment.grid import identity as tuned_identity
from rnnbench.experiment.paths import METRICS_FILE, SELECTED_FILE, cell_template, tune_template
from rnnbench.experiment.spec import SpecError, resolve_spec
from rnnbench.io import read_json_object

TUNED_LR = "tuned"
TUNE_DIR = tune_template(TUNED_KEYS)
TRIAL_DIR = TUNE_DIR + "/lr{lr}"
SELECTED = f"{TUNE_DIR}/{SELECTED_FILE}"
TRIAL_LOG = cell_template("logs/tune", TUNED_KEYS, "/lr{lr}.log")
TRIAL_BENCHMARK = cell_template("benchmarks/tune", TUNED_KEYS, "/lr{lr}.tsv")
SELECT_LOG = cell_template("logs/tune", TUNED_KEYS, "/select.log")
LR_WILDCARD = r"[0-9][0-9.e+-]*"
LR_FIGURE = "lr_sensitivity"  # results/summary/<dataset>/plots/lr_sensitivity.svg
TIE_RULE = "highest validation {metric}; exact ties go to the smallest lr; diverged trials are never selected"


class TuningError(RnnbenchError):
    """A trial or selection file is missing, malformed or unusable; the message names it."""


# --- config --------------------------------------------------------------------------------


def lr_label(lr: float) -> str:
    """The lr as it appears in a trial's directory name: Python's shortest round-trip
    form (0.001, 0.0003, 1e-05), so the label reads back as exactly the same float."""
    return repr(float(lr))


def tune_config(ds: dict[str, Any]) -> dict[str, Any] | None:
    """The dataset's ``grid.tune`` (defaults filled), or None when tuning is off."""
    return ds.get("grid", {}).get("tune") or None


def tuned_archs(ds: dict[str, Any]) -> list[str]:
    tune = tune_config(ds)
    if tune is None:
        return []
    return list(tune.get("archs") or axis_values(ds, "archs"))


def tuned_optimizers(ds: dict[str, Any]) -> list[str]:
    tune = tune_config(ds)
    if tune is None:
        return []
    return list(tune.get("optimizers") or axis_values(ds, "optimizers"))


def is_tuned(ds: dict[str, Any], cell: dict[str, Any]) -> bool:
    """Whether the cell's lr comes from tuning."""
    return cell["arch"] in tuned_archs(ds) and cell["optimizer"] in tuned_optimizers(ds)


def tuned_cells(name: str, ds: dict[str, Any]) -> list[dict[str, Any]]:
    """Every tuned identity (dataset, arch, optimizer, length), in grid order (no seed)."""
    chosen = {"arch": tuned_archs(ds), "optimizer": tuned_optimizers(ds)}
    return expand_tuned(name, ds, lambda key, value: key not in chosen or value in chosen[key])


def candidate_lrs(ds: dict[str, Any], optimizer: str) -> list[float]:
    """The candidate lrs of ``optimizer``'s tuned cells: ``tune.lrs`` itself, or its entry
    for the optimizer when it maps each optimizer to its own list (each around that
    optimizer's usual range, all of one length: the same budget per optimizer)."""
    tune = tune_config(ds)
    if tune is None:
        return []
    lrs = tune["lrs"]
    if isinstance(lrs, dict):
        lrs = lrs.get(optimizer) or []
    return [float(lr) for lr in lrs]


def trial_spec(ds: dict[str, Any], cell: dict[str, Any], lr: float) -> dict[str, Any]:
    """One trial's training spec: the cell's, on the tuning seed, with ``tune.hparams``
    and this lr. Independent of the other candidates."""
    tune = tune_config(ds)
    if tune is None:
        raise ConfigError(f"dataset {cell['dataset']!r} has no grid.tune")
    spec = cell_spec(ds, {**tuned_identity(cell), "seed": tune["seed"]})
    spec["hparams"] = {**spec["hparams"], **tune.get("hparams", {}), "lr": float(lr)}
    return spec


def final_spec(ds: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    """A grid cell's spec (grid.cell_spec); when tuning sets its lr, ``hparams.lr`` is
    ``{"tuned": <the cell's selected.json>}`` (``rnnbench train`` reads the lr there)."""
    if not is_tuned(ds, spec):
        return spec
    return {**spec, "hparams": {**spec["hparams"], "lr": {TUNED_LR: selected_path(spec)}}}


def lr_source(spec: dict[str, Any]) -> str | None:
    """The selected.json a final spec's lr comes from (see final_spec), or None."""
    lr = (spec.get("hparams") or {}).get("lr") if isinstance(spec, dict) else None
    if isinstance(lr, dict):
        return lr.get(TUNED_LR)
    return None


def selected_path(cell: dict[str, Any]) -> str:
    return SELECTED.format(**cell)


def trial_metrics_paths(ds: dict[str, Any], cell: dict[str, Any]) -> list[str]:
    return [
        f"{TRIAL_DIR.format(**cell, lr=lr_label(lr))}/{METRICS_FILE}"
        for lr in candidate_lrs(ds, cell["optimizer"])
    ]


def check_tuning(name: str, ds: dict[str, Any]) -> None:
    """What the schema cannot say about ``grid.tune``; raises ConfigError naming the key."""
    tune = tune_config(ds)
    if tune is None:
        return
    key = f"datasets.{name}.grid.tune"
    for part in ("archs", "optimizers"):
        known = axis_values(ds, part)
        unknown = [v for v in tune.get(part) or [] if v not in known]
        if unknown:
            raise ConfigError(
                f"{key}.{part}: {unknown} not in the grid's {part} {list(known)}; "
                f"tune only what the grid trains (null = all of them)"
            )
    if "lr" in (tune.get("hparams") or {}):
        raise ConfigError(
            f"{key}.hparams.lr: the trials' lr is each candidate of {key}.lrs; remove it"
        )
    _check_lrs(key, tune["lrs"], tuned_optimizers(ds))


def _check_lrs(key: str, lrs: list | dict, optimizers: list[str]) -> None:
    """One list for every tuned optimizer, or one per optimizer (each tuned optimizer
    exactly once, all of one length: the same budget), no list repeating a value."""
    lists = lrs if isinstance(lrs, dict) else {"": lrs}
    if isinstance(lrs, dict):
        missing = [o for o in optimizers if o not in lrs]
        if missing:
            raise ConfigError(
                f"{key}.lrs: no candidates for {missing}; give every tuned optimizer "
                f"({optimizers}) its own list, or one list for all"
            )
        extra = [o for o in lrs if o not in optimizers]
        if extra:
            raise ConfigError(
                f"{key}.lrs.{extra[0]}: not a tuned optimizer of this grid ({optimizers}); "
                "remove it"
            )
        sizes = {o: len(v) for o, v in lrs.items()}
        if len(set(sizes.values())) > 1:
            raise ConfigError(
                f"{key}.lrs: {sizes} candidates; give every optimizer the same number of "
                "trials (the same tuning budget), or its ranking measures the budget"
            )
    for optimizer, values in lists.items():
        labels = [lr_label(lr) for lr in values]
        if len(set(labels)) != len(labels):
            where = f"{key}.lrs.{optimizer}" if optimizer else f"{key}.lrs"
            raise ConfigError(f"{where}: {values} repeats a value")


def validate_tuning(name: str, ds: dict[str, Any]) -> None:
    """Resolve every trial's spec now, so a bad ``tune`` value fails at ``snakemake -n``."""
    check_tuning(name, ds)
    for cell in tuned_cells(name, ds):
        for lr in candidate_lrs(ds, cell["optimizer"]):
            try:
                resolve_spec(trial_spec(ds, cell, lr))
            except SpecError as err:
                raise ConfigError(
                    f"datasets.{name}.grid.tune (arch {cell['arch']}, optimizer "
                    f"{cell['optimizer']}, lr {lr_label(lr)}): {err}"
                ) from None


# --- selection -------------------------------------------------------------------------------


def validation_score(metrics: dict[str, Any]) -> float | None:
    """The trial's validation headline metric (best epoch), or None when it has none
    (diverged, or no finite value). Test scores are never looked at."""
    if metrics.get("status") != "ok":
        return None
    value = (metrics.get("validation") or {}).get(metrics.get("headline_metric"))
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def select_lr(trial_paths: list[str | Path]) -> dict[str, Any]:
    """The selection record (selected.json) of one tuned cell from its trials' metrics."""
    trials, identity, headline = [], None, None
    for path in trial_paths:
        metrics = read_json_object(path, TuningError)
        spec, hparams = metrics.get("spec") or {}, metrics.get("hparams") or {}
        this = {k: spec.get(k) for k in TUNED_KEYS}
        if identity is None:
            identity, headline = this, metrics.get("headline_metric")
        elif this != identity:
            raise TuningError(f"{path}: a trial of {this}, not of {identity}")
        lr = hparams.get("lr")
        if not isinstance(lr, int | float) or isinstance(lr, bool):
            raise TuningError(f"{path}: no recorded hparams.lr; is it a training job's output?")
        trials.append(
            {
                "lr": float(lr),
                "validation": validation_score(metrics),
                "status": metrics.get("status"),
                "best_epoch": metrics.get("best_epoch"),
                "seed": spec.get("seed"),
                "metrics": str(path),
            }
        )
    if not trials:
        raise TuningError("no trial metrics given")
    trials.sort(key=lambda t: t["lr"])
    scored = [t for t in trials if t["validation"] is not None]
    if not scored:
        lrs = ", ".join(lr_label(t["lr"]) for t in trials)
        raise TuningError(
            f"{identity}: no trial has a validation score (lrs {lrs}: every one diverged or "
            "scored NaN); add smaller candidates to grid.tune.lrs"
        )
    # Highest score; of equal scores the smallest lr (trials are sorted by lr, max keeps
    # the first maximum).
    best = max(scored, key=lambda t: t["validation"])
    for trial in trials:
        trial["selected"] = trial is best
    lrs = [t["lr"] for t in trials]
    return {
        **identity,
        "tuning_seed": trials[0]["seed"],
        "headline_metric": headline,
        "metric": f"validation {headline}",
        "rule": TIE_RULE.format(metric=headline),
        "selected_lr": best["lr"],
        "selected_validation": best["validation"],
        "at_edge": len(lrs) > 1 and best["lr"] in (lrs[0], lrs[-1]),
        "trials": trials,
    }


def apply_selected_lr(
    spec: dict[str, Any], selected: str | Path
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``spec`` with the selected lr of ``selected`` (a selected.json), and the
    ``lr_tuning`` record its metrics.json keeps. The selection must be of the spec's cell."""
    record = read_json_object(selected, TuningError)
    for key in TUNED_KEYS:
        if record.get(key) != spec.get(key):
            raise SpecError(
                f"--lr-from {selected}: a selection for {key} {record.get(key)!r}, "
                f"but the spec's {key} is {spec.get(key)!r}"
            )
    lr = record.get("selected_lr")
    if not isinstance(lr, int | float) or isinstance(lr, bool) or not lr > 0:
        raise SpecError(f"--lr-from {selected}: selected_lr {lr!r} is not a positive number")
    hparams = dict(spec.get("hparams") or {})
    hparams["lr"] = float(lr)
    annotation = {
        "selected_lr": float(lr),
        "candidates": [t["lr"] for t in record.get("trials", [])],
        "tuning_seed": record.get("tuning_seed"),
        "metric": record.get("metric"),
        "selected_from": str(selected),
    }
    return {**spec, "hparams": hparams}, annotation


def write_selection(trial_paths: list[str | Path], out: str | Path) -> dict[str, Any]:
    from rnnbench.io import write_json_atomic

    record = select_lr(trial_paths)
    write_json_atomic(out, record)
    return record
