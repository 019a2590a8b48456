"""What the terminal shows when a workflow run ends (the Snakefile's onsuccess / onerror).

A run that succeeded prints the answer where the user already looks: the summary's
headline statements (at most about 25 lines), where the summary and the comparison tables
are, and the command that builds the HTML report for the same experiment. A run that
failed names each failed job's own log. Torch- and pandas-free: the workflow's main
process imports it.
"""

from __future__ import annotations

import os
import re
import shlex
import textwrap
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

HEADLINE_LINES = 25
WIDTH = 100
MAIN_JOB_CONFIG = "presets/quick.yaml"  # the Makefile's RUN_CONFIG: `make report` builds its report

_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
# Links after a statement's last sentence are references (the table, the figure behind it).
_TRAILING_LINKS = re.compile(r"(?<=[.)])(\s*\[[^\]]*\]\([^)]*\))+\s*$")


def plain(markdown: str) -> str:
    """A summary statement as terminal text: links become their labels, no bold marks."""
    return _LINK.sub(r"\1", _TRAILING_LINKS.sub("", markdown)).replace("**", "")


def summary_sections(text: str) -> list[tuple[str, list[str]]]:
    """``[(section title, [statement, ...]), ...]`` of a summary.md (rnnbench.analysis.summary)."""
    sections: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("## "):
            sections.append((line[3:].strip(), []))
        elif line.startswith("- ") and sections:
            sections[-1][1].append(plain(line[2:].strip()))
    return sections


def headline(text: str, limit: int = HEADLINE_LINES, width: int = WIDTH) -> tuple[list[str], int]:
    """The summary's statements that fit in ``limit`` lines, and how many were left out.

    Each dataset gets its first statement (the best cell) before any gets its second, and
    so on, so a long section never crowds out another dataset's answer; the statements
    keep their order within a section. Statements wrap at ``width`` columns.
    """
    sections = summary_sections(text)
    wrapped = [
        [
            textwrap.wrap(
                s, width, initial_indent="  - ", subsequent_indent="    ", break_on_hyphens=False
            )
            for s in st
        ]
        for _, st in sections
    ]
    chosen = [0] * len(sections)  # how many leading statements of each section are shown
    used = len(sections)  # one line per section title
    growing = set(range(len(sections)))
    while growing:
        for i in sorted(growing):
            if chosen[i] < len(wrapped[i]) and used + len(wrapped[i][chosen[i]]) <= limit:
                used += len(wrapped[i][chosen[i]])
                chosen[i] += 1
            else:
                growing.discard(i)  # full, or its next statement does not fit: stop it here
    lines: list[str] = []
    for (title, _), statements, shown in zip(sections, wrapped, chosen, strict=True):
        lines.append(f"{title}:")
        for statement in statements[:shown]:
            lines += statement
    left_out = sum(len(w) for w in wrapped) - sum(chosen)
    return lines, left_out


def relative(path: str | os.PathLike, workdir: Path) -> str:
    """``path`` relative to the working directory when it lies inside it."""
    absolute = Path(path).absolute()
    try:
        return str(absolute.relative_to(workdir.absolute()))
    except ValueError:
        return str(path)


def snakemake_command(
    configfiles: Sequence[str],
    config_args: Sequence[str] = (),
    tail: Sequence[str] = (),
    cores: bool = False,
) -> str:
    """A ``snakemake`` command line for the same experiment (the same config files)."""
    words = ["snakemake", "--cores", "all"] if cores else ["snakemake"]
    if configfiles:
        words += ["--configfile", *configfiles]
    if config_args:
        words += ["--config", *config_args]
    return shlex.join([*words, *tail])


def experiment_name(configfiles: Sequence[str]) -> str:
    """How the terminal names an experiment: its overlays, or the default experiment."""
    return " + ".join(configfiles) if configfiles else "the default experiment (config.yaml)"


def report_command(
    configfiles: Sequence[str],
    config_args: Sequence[str] = (),
    report: str = "reports/report.html",
    targets: Sequence[str] = (),
) -> str:
    """The command that builds the HTML report of this experiment (``make report`` too
    when it is the main job)."""
    command = snakemake_command(configfiles, config_args, ["--report", report, *targets])
    if list(configfiles) == [MAIN_JOB_CONFIG] and not config_args and not targets:
        command += "   (or: make report)"
    return command


def answer_lines(
    summary: Path,
    tables: Iterable[str],
    report: str,
    workdir: Path = Path(),
    exports: Iterable[str] = (),
) -> list[str]:
    """The terminal's answer after a successful run that built ``summary`` (and the
    tracker exports, ``results/export/<tracker>``, it brought up to date)."""
    lines, left_out = headline(summary.read_text(encoding="utf-8"))
    where = relative(summary, workdir)
    out = ["", f"rnnbench: the answer ({where})", *lines]
    if left_out:
        out.append(f"  ({left_out} more statement(s): cat {where})")
    out.append(f"Summary: {where}")
    tables = list(tables)
    if tables:
        out.append("Comparison tables: " + ", ".join(tables))
    out.append(f"HTML report: {report}")
    for folder in exports:
        from rnnbench.trackers import NAMES, OPEN_COMMANDS

        tracker = Path(folder).name
        command = OPEN_COMMANDS[tracker].format(dir=folder)
        out.append(f"{NAMES[tracker]} export: {folder}   (open: {command})")
    return out


def failure_lines(
    failed: Iterable[tuple[str, Sequence[str]]], snakemake_log: str | None
) -> list[str]:
    """The terminal's pointer to the logs after a failed run: ``failed`` holds each failed
    job's name (rule and wildcards) and its log files."""
    failed = list(failed)
    out = ["", f"rnnbench: {len(failed)} job(s) failed; their logs say why:"]
    for name, logs in failed:
        out.append(f"  {name}: {', '.join(logs) if logs else '(no log of its own)'}")
    if snakemake_log:
        out.append(f"Snakemake's own log (every job and error): {snakemake_log}")
    return out


# --- the workflow's hooks (Snakemake 9: `workflow`, its DAG and its scheduler) -------------

SUMMARY_RULES = {"summarize": (), "collect_all": ("summarize_all",)}
TABLE_RULES = ("compare", "compare_all")


def experiment(workflow: Any, workdir: Path = Path()) -> tuple[list[str], list[str]]:
    """The ``--configfile`` files (relative to the working directory) and ``--config``
    arguments the running workflow was given."""
    files = [relative(f, workdir) for f in workflow.overwrite_configfiles or ()]
    return files, list(workflow.config_settings.config_args or ())


def print_answer(workflow: Any, workdir: Path = Path()) -> None:
    """onsuccess: the answer, when this run's DAG built a summary (not after `prepare`)."""
    from snakemake.logging import logger

    jobs = list(workflow.dag.jobs)
    summaries = [
        (job.rule.name, str(f))
        for job in jobs
        if job.rule.name in SUMMARY_RULES
        for f in job.output
        if str(f).endswith("summary.md")
    ]
    if not summaries:
        return
    rule, summary = summaries[0]
    tables = sorted(
        str(f)
        for job in jobs
        if job.rule.name in TABLE_RULES
        for f in job.output
        if str(f).endswith(".html")
    )
    files, args = experiment(workflow, workdir)
    targets = SUMMARY_RULES[rule]
    report = report_command(
        files, args, "reports/all.html" if targets else "reports/report.html", targets
    )
    exports = sorted(
        os.path.dirname(str(f)) for job in jobs if job.rule.name == "export" for f in job.output
    )
    if Path(summary).is_file():
        lines = answer_lines(Path(summary), tables, report, workdir, exports)
        logger.info("\n".join(lines))


def failed_jobs(workflow: Any) -> list[tuple[str, list[str]]]:
    """Each failed job's name and log files (a group job: each of its jobs)."""
    scheduler = getattr(workflow, "scheduler", None)
    failed = []
    for job in sorted(getattr(scheduler, "failed", ()), key=str):
        for member in getattr(job, "jobs", [job]):
            wildcards = ", ".join(f"{k}={v}" for k, v in member.wildcards_dict.items())
            name = f"{member.rule.name} ({wildcards})" if wildcards else member.rule.name
            failed.append((name, [str(f) for f in member.log]))
    return failed


def print_failures(workflow: Any, log: Sequence[str] | str | None) -> None:
    """onerror: name the failed jobs' logs, then Snakemake's own log."""
    from snakemake.logging import logger

    logs = [log] if isinstance(log, str) else list(log or ())
    logger.error("\n".join(failure_lines(failed_jobs(workflow), ", ".join(logs) or None)))
