"""The package's layers hold: no import circle, no import from a layer to a higher one
(bench/architecture.py measures both from the source; its LAYERS is the intended order)."""

from __future__ import annotations

import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, str(SRC.parent / "bench"))

import architecture  # noqa: E402


def test_no_import_circle_between_units() -> None:
    assert architecture.circles(architecture.unit_graph(SRC)) == []


def test_no_unit_imports_from_a_higher_layer() -> None:
    assert architecture.upward_imports(architecture.unit_graph(SRC)) == []


def test_the_experiment_core_imports_nothing_above_it() -> None:
    graph = architecture.unit_graph(SRC)
    assert graph["experiment"] <= {"errors", "io", "registry", "names", "optimizers"}
