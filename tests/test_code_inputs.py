"""Every rule reruns when the code its command runs changes, and only modules no rule runs
are left out.

One tiny grid that runs every stage (a sentiment table with learning-rate tuning and a
published number, and the memory task) is built once for real, with its own copy of the
package sources. Snakemake's ``--detailed-summary`` then says which source files each
output was made from (its recorded inputs): every package module must be an input of some
rule, or be listed below as run by none. A few modules are then edited for real, and
``snakemake -n`` must plan the rules the summary names (the edits the issue found rerun
nothing, and the compiled kernels).
"""

from __future__ import annotations

import csv
import glob
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import copy_workflow, reviews_table
from rnnbench.code_inputs import closure, command_files
from rnnbench.config import memory_grid_config
from rnnbench.experiment import paths

pytestmark = pytest.mark.slow

# Modules no job runs: the Snakefile imports them at parse time (their edits change the
# plan itself: the params, paths and inputs of the jobs, which Snakemake then compares;
# or what the terminal and `--report` say), or a command no rule calls (`rnnbench
# progress`, `rnnbench summary`), or one only an opt-in rule calls that this grid leaves
# off (`rnnbench export`, config `export`), and cli/tools.py that wires these three. (config.py is both parse-time and a job's:
# the published tables check their entries with its schema.)
PARSE_TIME = {
    "code_inputs.py",
    "analysis/rulegraph.py",
    "terminal.py",
    "report_check.py",
    "slurm_batches.py",
}
NO_RULE = {"progress.py", "models/summary.py", "trackers.py", "cli/tools.py"}

HPARAMS = {"epochs": 1, "batch_size": 8, "hidden": 4, "head_hidden": 0}


def _config() -> dict:
    config = memory_grid_config(
        {"archs": ["rnn", "cnn"], "optimizers": ["adam"], "lengths": [8], "seeds": [0]},
        {"train": 24, "validation": 8, "test": 8},
        HPARAMS,
    )
    config["datasets"]["reviews"] = {
        "task": "sentiment",
        "format": "sentiment_table",
        "url": "data/reviews.csv",
        "text": {"tokenizer": "basic_english"},
        "grid": {
            "archs": ["rnn"],
            "optimizers": ["adam"],
            "lengths": [8],
            "seeds": [0],
            "hparams": HPARAMS,
            "tune": {"lrs": [1.0e-3, 1.0e-2]},
        },
    }
    config["datasets_to_run"] = ["reviews", "mem"]
    config["published"] = [
        {
            "source": "a test",
            "dataset": "mem",
            "arch": "rnn",
            "optimizer": "adam",
            "length": 8,
            "metric": "accuracy",
            "value": 0.5,
        }
    ]
    return config


def _snakemake(repo: Path, work: Path, *args: str) -> str:
    command = [sys.executable, "-m", "snakemake", "-s", str(repo / "Snakefile"), "-d", str(work)]
    result = subprocess.run([*command, *args], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    repo, work = tmp_path_factory.mktemp("repo"), tmp_path_factory.mktemp("work")
    copy_workflow(repo)
    reviews_table(work / "data" / "reviews.csv", 100)
    (work / "config.yaml").write_text(yaml.safe_dump(_config(), sort_keys=False))
    _snakemake(repo, work, "--cores", "2")
    assert "Nothing to be done" in _snakemake(repo, work, "-n")
    return repo, work


def _package_files(repo: Path) -> list[str]:
    src = repo / "src" / "rnnbench"
    return sorted(
        str(p.relative_to(src))
        for p in src.rglob("*")
        if p.suffix in {".py", ".cpp"} and "__pycache__" not in p.parts
    )


def _rules_per_file(repo: Path, work: Path) -> dict[str, set[str]]:
    """``{package file: {rules whose recorded inputs hold it}}`` of the finished grid."""
    summary = _snakemake(repo, work, "--detailed-summary")
    src = f"{repo}/src/rnnbench/"
    rules: dict[str, set[str]] = {}
    lines = summary[summary.index("output_file\t") :].splitlines()
    for row in csv.DictReader(io.StringIO("\n".join(lines)), delimiter="\t"):
        for path in (row.get("input-file(s)") or "").split(","):
            if path.startswith(src):
                rules.setdefault(path.removeprefix(src), set()).add(row["rule"])
    return rules


def test_every_module_is_an_input_of_the_rules_that_run_it(grid: tuple[Path, Path]) -> None:
    repo, work = grid
    rules = _rules_per_file(repo, work)
    files = _package_files(repo)
    unrun = {f for f in files if f not in rules}
    assert unrun == PARSE_TIME | NO_RULE, {f: "no rule" for f in sorted(unrun)}
    # Every stage's command is among them: the examples of edits that reran nothing.
    assert {"compare", "summarize"} <= rules["analysis/formats.py"]
    assert {"compare", "published", "summarize"} <= rules["analysis/htmlpage.py"]
    assert {"baselines", "aggregate", "compare"} <= rules["cli/analysis.py"]
    # A command's files are the wiring of its own stage: an analysis option retrains nothing.
    assert not {"train", "tune_trial", "split"} & rules["cli/analysis.py"]
    assert {"train", "tune_trial"} <= rules["cli/train.py"] < rules["cli/__init__.py"]
    assert {"split", "tokenize", "vocab", "encode", "synthesize"} <= rules["data/stages.py"]
    assert "fetch" in rules["data/fetch.py"]
    assert {"train", "tune_trial"} <= rules["models/native/kernels.cpp"]
    assert "train" not in rules["data/readers.py"]  # lazy imports: data jobs stay light


@pytest.mark.parametrize(
    "module",
    [
        "analysis/formats.py",
        "analysis/htmlpage.py",
        "cli/analysis.py",
        "cli/train.py",
        "data/stages.py",
        "data/fetch.py",
        "experiment/tasks.py",
    ],
)
def test_editing_a_module_plans_the_rules_that_run_it(grid: tuple[Path, Path], module: str) -> None:
    repo, work = grid
    expected = _rules_per_file(repo, work)[module]
    path = repo / "src" / "rnnbench" / module
    original = path.read_text()
    # An edit, not a bare touch: Snakemake skips an input whose checksum did not change.
    path.write_text(original + "\n# edited\n")
    try:
        planned = _snakemake(repo, work, "-n")
    finally:
        path.write_text(original)
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", planned, re.MULTILINE))
    assert expected <= set(counts), planned[-3000:]
    assert "Nothing to be done" in _snakemake(repo, work, "-n")  # the original again


def test_the_fold_glob_finds_every_run_layout(grid: tuple[Path, Path]) -> None:
    """summarize_all collects every metrics.json on disk: a fold run's too."""
    repo, work = grid
    fold_cell = {"dataset": "folded", "arch": "rnn", "optimizer": "adam", "length": 8}
    fold_cell.update(fold=0, seed=0)
    metrics = work / paths.run_dir(fold_cell) / paths.METRICS_FILE
    metrics.parent.mkdir(parents=True)
    metrics.write_text(json.dumps({"stub": True}))
    try:
        found = {p for g in paths.run_metrics_globs() for p in glob.glob(str(work / g))}
        assert str(metrics) in found
        assert str(work / "results/runs/mem/rnn/adam/len8/seed0/metrics.json") in found
        planned = _snakemake(repo, work, "-n", "summarize_all")
        assert "results/summary/all/folded/comparison.html" in planned
    finally:
        metrics.unlink()


def test_the_closure_follows_lazy_imports_and_registry_builders() -> None:
    train = command_files("train")
    assert any(f.endswith("models/native/kernels.cpp") for f in train)
    assert any(f.endswith("models/recurrent.py") for f in train)  # a registry builder
    split = command_files("split")
    assert any(f.endswith("data/readers.py") for f in split)
    assert not any("/models/" in f or "/train/" in f for f in split)  # no torch in data jobs
    assert all(Path(f).exists() for f in closure("rnnbench.cli"))
    # The data jobs' files: their own wiring, not that of the training or analysis stage.
    assert any(f.endswith("cli/data.py") for f in split)
    assert not any(f.endswith(("cli/train.py", "cli/analysis.py")) for f in split)
