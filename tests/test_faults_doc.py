"""docs/faults.md claims no more than its tests show: every test it names exists, each
is marked ``fault`` where its row says so, and the fault-test count it states is the
suite's."""

from __future__ import annotations

import re
import subprocess
import sys

from conftest import REPO_ROOT

DOC = REPO_ROOT / "docs" / "faults.md"
TESTS = REPO_ROOT / "tests"
# A test reference: `test_x.py::test_name...`, or a bare `test_name` after one in the
# same cell (it names a test of the same file). Abbreviated names (`..._in_per_arch_...`)
# and parameter ids (`[unknown-key]`) are matched by their prefix.
REFERENCE = re.compile(r"`(?:(test_[a-z0-9_]+\.py)(?:::)?)?(test_[A-Za-z0-9_]*|\.\.\.[a-z0-9_.]*)?")


def _references() -> list[tuple[str, str]]:
    """``(file, name)`` of every test the tables name (names cut at ``...`` or ``[``)."""
    out = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            continue
        cell = line.rstrip("|").rsplit("|", 1)[-1]
        current = None
        for module, name in REFERENCE.findall(cell):
            current = module or current
            if current and name.startswith("test_"):
                out.append((current, re.split(r"\.\.\.|\[", name)[0]))
    return out


def test_every_test_the_doc_names_exists() -> None:
    references = _references()
    assert len(references) > 80  # the parser found the tables
    missing = []
    for module, name in references:
        path = TESTS / module
        source = path.read_text(encoding="utf-8") if path.exists() else ""
        if not re.search(rf"def {re.escape(name)}", source):
            missing.append(f"{module}::{name}")
    assert not missing, f"docs/faults.md names tests that do not exist: {missing}"


def test_the_stated_fault_test_count_is_the_suite_s() -> None:
    stated = re.search(r"exactly these tests \((\d+) test items", DOC.read_text(encoding="utf-8"))
    assert stated, "docs/faults.md no longer states the count of fault tests"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-m", "fault", "--collect-only", "-q", str(TESTS)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=300,
    )
    collected = re.search(r"(\d+)/\d+ tests collected", result.stdout)
    assert collected, result.stdout[-2000:]
    assert int(stated.group(1)) == int(collected.group(1)), (
        f"docs/faults.md says {stated.group(1)} fault tests; `pytest -m fault` collects "
        f"{collected.group(1)}: update the count (and add a row for each new fault)"
    )
