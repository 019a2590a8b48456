"""`snakemake --report` as typed: one clear message when the experiment has not run.

Snakemake builds the report of the experiment its config names (``config.yaml`` plus the
``--configfile`` overlays). When that experiment's results are not on disk it fails on the
first missing file (``File results/runs/... marked for report but does not exist``), which
says neither that the experiment has not run nor which one has. :func:`install` puts a
check in front of Snakemake's report: when every job's outputs are there it changes
nothing; otherwise it fails with one message: how many training cells have no results,
the command that makes them, and the report command of each experiment whose runs are on
disk (the main job's: ``make report``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnbench.terminal import experiment_name, relative, report_command, snakemake_command

# The rules whose jobs are training cells (train_fold, train_sized: `use rule train as`).
TRAIN_RULES = {"train", "train_fold", "train_sized"}
SHOWN_EXPERIMENTS = 3


@dataclass(frozen=True)
class Experiment:
    """An experiment (config.yaml + overlays) and how many of its cells have results."""

    configfiles: tuple[str, ...]
    done: int
    cells: int

    @property
    def name(self) -> str:
        return experiment_name(self.configfiles)


def cells_done(workdir: Path, configfiles: Sequence[str]) -> Experiment | None:
    """How many of an experiment's training cells have a ``metrics.json`` (None: no grid,
    or a config that does not load)."""
    from rnnbench.experiment.paths import run_dir
    from rnnbench.progress import grid, load_config

    try:
        cells = grid(load_config(workdir, [workdir / f for f in configfiles]))
    except Exception:  # a hint only: an experiment that does not load is not offered
        return None
    if not cells:
        return None
    done = sum((workdir / run_dir(cell) / "metrics.json").is_file() for cell in cells)
    return Experiment(tuple(configfiles), done, len(cells))


def experiments_on_disk(workdir: Path, presets: Path, current: Sequence[str]) -> list[Experiment]:
    """The default experiment and every preset with results here, the most complete first
    (``current``, the experiment asked about, left out)."""
    candidates = [[]] + [[relative(p, workdir)] for p in sorted(presets.glob("*.yaml"))]
    found = [cells_done(workdir, files) for files in candidates if files != list(current)]
    found = [e for e in found if e is not None and e.done]
    return sorted(found, key=lambda e: (e.done < e.cells, -e.done / e.cells, e.configfiles))


def missing_outputs(dag: Any) -> tuple[list[Any], list[Any]]:
    """The DAG's training jobs, and its jobs with an output missing on disk."""
    jobs = list(dag.jobs)
    missing = [job for job in jobs if any(not os.path.exists(f) for f in job.output)]
    return [job for job in jobs if job.rule.name in TRAIN_RULES], missing


def missing_message(
    configfiles: Sequence[str],
    config_args: Sequence[str],
    cells: int,
    missing: Sequence[tuple[str, str]],
    on_disk: Sequence[Experiment],
    other_settings: int = 0,
) -> str:
    """The message for ``snakemake --report`` with results missing: ``missing`` holds
    ``(rule, first output)`` of each job whose outputs are not all on disk;
    ``other_settings`` counts the training cells whose files are there but were made with
    other settings or code (e.g. another preset's run at the same path), which Snakemake
    would rerun."""
    name = experiment_name(configfiles)
    missing_cells = [out for rule, out in missing if rule in TRAIN_RULES]
    without = len(missing_cells) + other_settings
    if missing_cells:
        state = "has not run" if without == cells else "has not finished"
        example = f"e.g. {os.path.dirname(missing_cells[0])}"
        if other_settings:
            what = (
                f"{without} of {cells} training cells have no results of its own ({example}; "
                f"{other_settings} hold results made with other settings or code, which Snakemake "
                "would rerun)"
            )
        else:
            what = f"{without} of {cells} training cells have no results ({example})"
    else:
        state = "has not finished"
        rules = sorted({rule for rule, _ in missing})
        what = (
            f"{len(missing)} job(s) of rules {', '.join(rules)} have not run (e.g. {missing[0][1]})"
        )
    lines = [
        f"snakemake --report: {name} {state} here: {what}, so its report cannot be built.",
        "Make its results with:",
        f"  {snakemake_command(configfiles, config_args, [], cores=True)}",
        "then build its report with:",
        f"  {report_command(configfiles, config_args)}",
    ]
    if on_disk:
        lines.append("Results on disk here, with the command that builds their report:")
        for experiment in on_disk[:SHOWN_EXPERIMENTS]:
            lines.append(f"  {experiment.name}: {experiment.done} of {experiment.cells} cells done")
            lines.append(f"    {report_command(experiment.configfiles)}")
    elif missing_cells and len(missing_cells) == cells:  # nothing of it on disk
        lines.append(
            "No experiment has results here yet; the main job (a few minutes, no download): make run"
        )
    return "\n".join(lines)


def check(dag: Any) -> str | None:
    """The message when the report's DAG has outputs missing, else None."""
    from rnnbench.terminal import experiment

    trains, missing = missing_outputs(dag)
    if not missing:
        return None
    workdir = Path.cwd()
    files, args = experiment(dag.workflow, workdir)
    presets = workdir / "presets"  # the repository's, or a working directory's own (-d)
    if not presets.is_dir():
        presets = Path(dag.workflow.basedir) / "presets"
    on_disk = experiments_on_disk(workdir, presets, files)
    jobs = [(job.rule.name, str(next(iter(job.output)))) for job in missing]
    other_settings = sum(job not in missing and dag.needrun(job) for job in trains)
    return missing_message(files, args, len(trains), jobs, on_disk, other_settings)


def install() -> None:
    """Put :func:`check` in front of Snakemake's report (called by the Snakefile)."""
    try:
        # CliException prints as "Error: <message>"; a WorkflowError raised outside
        # Snakemake's own code would print the frames that raised it, like a crash.
        import snakemake.report as report
        from snakemake.exceptions import CliException
    except ImportError:  # another Snakemake layout: keep its own behaviour
        return
    original = report.auto_report
    if getattr(original, "rnnbench_checked", False):
        return

    async def auto_report(dag: Any, *args: Any, **kwargs: Any) -> Any:
        message = check(dag)
        if message:
            raise CliException(message)
        return await original(dag, *args, **kwargs)

    auto_report.rnnbench_checked = True  # type: ignore[attr-defined]
    report.auto_report = auto_report
