"""What the lr-sensitivity figure shows, from a tuned dataset's selection files.

:func:`read_selections` reads the ``selected.json`` files (rnnbench.experiment.tuning),
which hold every trial's validation score; :func:`figure_data` arranges them into
panels: one per sequence length, and, when an architecture is tuned with several
optimizers, one row of panels per architecture with one line per optimizer (in the same
style in every panel); otherwise one row with one line per architecture / optimizer. It
also counts the diverged trials and the selections at the edge of their candidates, and
words the figure's note. :mod:`rnnbench.analysis.lr_figure` draws it; nothing here
imports matplotlib.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnbench.analysis.collect import AnalysisError
from rnnbench.names import OPTIMIZERS


@dataclass(frozen=True)
class Line:
    """One selection's trials in one panel: ``style`` picks its colour and marker."""

    record: dict[str, Any]
    style: int
    label: str


@dataclass(frozen=True)
class Panel:
    title: str
    lines: list[Line]


@dataclass(frozen=True)
class FigureData:
    """The figure's panels, ``rows`` of equal length (empty: no tuned cell), its title,
    y label and note, and how many selections sit at the edge of their candidates."""

    title: str
    metric: str
    rows: list[list[Panel]]
    edges: int
    note: str


def read_selections(paths: list[str | Path]) -> list[dict[str, Any]]:
    selections = []
    for path in paths:
        try:
            with open(path, encoding="utf-8") as handle:
                record = json.load(handle)
        except (OSError, ValueError) as err:
            raise AnalysisError(f"{path}: cannot read the lr selection: {err}") from None
        if not isinstance(record, dict) or not isinstance(record.get("trials"), list):
            raise AnalysisError(f"{path}: not a selection file (rnnbench tune-select)")
        selections.append(record)
    return selections


def _record(
    selections: list[dict[str, Any]], arch: str, optimizer: str, length: int
) -> dict[str, Any] | None:
    return next(
        (
            s
            for s in selections
            if (s["arch"], s["optimizer"], int(s["length"])) == (arch, optimizer, length)
        ),
        None,
    )


def _note(first: dict[str, Any], diverged: int, edges: int) -> str:
    note = f"tuning seed {first.get('tuning_seed')}; {first.get('rule', '')}"
    if diverged:
        note += f"; x = {diverged} trial(s) without a validation score (diverged)"
    if edges:
        note += f"; {edges} selection(s) at the edge of the candidates: widen the range"
    return note


def figure_data(selections: list[dict[str, Any]], dataset: str) -> FigureData:
    """The panels of ``dataset``'s figure (see the module doc)."""
    selections = [s for s in selections if s.get("dataset") == dataset]
    title = f"{dataset}: learning-rate sensitivity (tuning trials)"
    if not selections:
        return FigureData(title, "", [], 0, "")
    lengths = sorted({int(s["length"]) for s in selections})
    lines = list(dict.fromkeys((s["arch"], s["optimizer"]) for s in selections))
    archs = list(dict.fromkeys(arch for arch, _ in lines))
    by_optimizer = len(lines) > len(archs)  # some arch has several optimizers
    optimizers = [o for o in OPTIMIZERS if any(o == opt for _, opt in lines)]
    optimizers = list(dict.fromkeys([*optimizers, *(o for _, o in lines)]))
    rows: list[list[Panel]] = []
    diverged = edges = 0
    for row in archs if by_optimizer else [None]:
        panels = []
        for length in lengths:
            drawn = []
            for i, (arch, optimizer) in enumerate(lines):
                record = _record(selections, arch, optimizer, length)
                if (row is not None and arch != row) or record is None:
                    continue
                style = optimizers.index(optimizer) if by_optimizer else i
                label = optimizer if by_optimizer else f"{arch} / {optimizer}"
                drawn.append(Line(record, style, label))
                diverged += sum(t.get("validation") is None for t in record["trials"])
                edges += bool(record.get("at_edge"))
            name = f"{row}, length {length}" if row is not None else f"length {length}"
            panels.append(Panel(name, drawn))
        rows.append(panels)
    metric = selections[0].get("metric", "validation metric")
    return FigureData(title, metric, rows, edges, _note(selections[0], diverged, edges))
