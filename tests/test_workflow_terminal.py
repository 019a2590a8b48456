"""End-to-end: what the terminal shows when a run ends, and `snakemake --report` as typed
when the default experiment has not run (a tiny memory-task grid; no data files)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO_ROOT, write_memory_grid

pytestmark = pytest.mark.slow


def output_of(workdir: Path, *args: str) -> tuple[int, str]:
    """Snakemake run from ``workdir``, as a user types it there (config files relative)."""
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO_ROOT / "Snakefile"), *args]
    result = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=900)
    return result.returncode, result.stdout + result.stderr


def test_the_terminal_shows_the_answer_and_report_asks_for_the_experiment_that_ran(tmp_path):
    # The default experiment (config.yaml): rnn and lstm; a preset runs only the rnn cells.
    write_memory_grid(tmp_path, ["rnn", "lstm"], ["adam"], seeds=[0, 1])
    (tmp_path / "presets").mkdir()
    small = {"datasets": {"mem": {"grid": {"archs": ["rnn"]}}}}
    (tmp_path / "presets/small.yaml").write_text(yaml.safe_dump(small))

    code, output = output_of(tmp_path, "--cores", "2", "--configfile", "presets/small.yaml")
    assert code == 0, output
    summary = (tmp_path / "results/summary/summary.md").read_text()
    first_statement = summary.split("\n- ")[1].split(" [")[0].replace("**", "")
    answer = output[output.index("steps (100%) done") :]
    assert "rnnbench: the answer (results/summary/summary.md)" in answer
    assert first_statement.split(",")[0] in answer  # "Best cell: rnn" or why there is none
    assert "Comparison tables: results/summary/mem/comparison.html" in answer
    assert (
        "HTML report: snakemake --configfile presets/small.yaml --report reports/report.html"
        in answer
    )

    # `snakemake --report` as typed asks about config.yaml, whose lstm cells never ran.
    code, output = output_of(tmp_path, "--report", "report.html")
    assert code != 0
    assert "Traceback" not in output and 'File "' not in output
    assert "marked for report but does not exist" not in output
    assert (
        "the default experiment (config.yaml) has not finished here: 2 of 4 training cells "
        "have no results (e.g. results/runs/mem/lstm/adam/len12/seed0)"
    ) in output
    assert "presets/small.yaml: 2 of 2 cells done" in output
    assert "snakemake --configfile presets/small.yaml --report reports/report.html" in output
    assert not (tmp_path / "report.html").exists()

    # The command it gives works, as it did before.
    code, output = output_of(
        tmp_path, "--configfile", "presets/small.yaml", "--report", "report.html"
    )
    assert code == 0, output
    assert (tmp_path / "report.html").stat().st_size > 0

    # A failed run names each failed job's own log (no CUDA device here: the lstm cells fail).
    broken = {"datasets": {"mem": {"grid": {"per_arch": {"lstm": {"device": "cuda"}}}}}}
    (tmp_path / "broken.yaml").write_text(yaml.safe_dump(broken))
    code, output = output_of(tmp_path, "--cores", "1", "--configfile", "broken.yaml")
    assert code != 0
    failures = output[output.index("rnnbench: ") :]
    assert "job(s) failed; their logs say why:" in failures
    assert "train (dataset=mem, arch=lstm, optimizer=adam, length=12, seed=" in failures
    assert "logs/train/mem/lstm/adam/len12/seed" in failures
    assert "rnnbench: the answer" not in output
