"""Reruns only when the data changes: knobs that cannot change the encoded arrays retrain
nothing, on a 500-cell grid.

The grid (a sentiment table read from a local CSV, and the memory task; 250 cells each)
is built once for real by Snakemake, so every job has its provenance (params, code, input
checksums) recorded as in a real run. Only `rnnbench train` is replaced by a stub that
writes a cell's three outputs at once; the data stage is the real one. Each test then edits
the config through an overlay and asks `snakemake -n` what it would run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import REPO_ROOT, reviews_table, sha256_of

pytestmark = [pytest.mark.slow, pytest.mark.fault]

ARCHS = ["rnn", "lstm", "gru", "cnn", "flatten"]
OPTIMIZERS = ["adam", "sgd", "rmsprop", "adamw", "nag"]
SEEDS = list(range(10))
CELLS_PER_DATASET = len(ARCHS) * len(OPTIMIZERS) * len(SEEDS)  # 250
DATA_RULES = {"fetch", "split", "tokenize", "vocab", "encode", "synthesize"}

STUB = """#!/bin/sh
# Stands in for `rnnbench train` (writes the cell's outputs at once); the rest is real.
if [ "$1" = train ]; then
  while [ $# -gt 0 ]; do
    if [ "$1" = --out ]; then out=$2; fi
    shift
  done
  mkdir -p "$out" && echo '{"stub": true}' > "$out/metrics.json" \\
    && echo epoch > "$out/history.csv" && cp "$(dirname "$0")/model.pt" "$out/model.pt"
  exit 0
fi
exec "$RNNBENCH_REAL" "$@"
"""


def _config() -> dict[str, Any]:
    grid = {
        "archs": ARCHS,
        "optimizers": OPTIMIZERS,
        "lengths": [8],
        "seeds": SEEDS,
        "hparams": {"epochs": 1, "batch_size": 8, "hidden": 4, "head_hidden": 0},
    }
    return {
        "datasets_to_run": ["reviews", "mem"],
        "datasets": {
            "reviews": {
                "task": "sentiment",
                "format": "sentiment_table",
                "url": "data/reviews.csv",
                "text": {"tokenizer": "basic_english"},
                "grid": grid,
            },
            "mem": {
                "task": "memory",
                "format": "synthetic",
                "synthetic": {
                    "samples": {"train": 20, "validation": 6, "test": 6},
                    "signal_position": {"from_end": 2},
                },
                "grid": grid,
            },
        },
    }


def _snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO_ROOT / "Snakefile")]
    env = dict(os.environ)
    real = Path(sys.executable).parent / "rnnbench"
    env["RNNBENCH_REAL"] = str(real)
    env["PATH"] = os.pathsep.join([str(workdir / "stub"), str(real.parent), env["PATH"]])
    return subprocess.run(
        [*command, "-d", str(workdir), *args],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = tmp_path_factory.mktemp("reruns")
    reviews_table(workdir / "data" / "reviews.csv", 60)
    (workdir / "config.yaml").write_text(yaml.safe_dump(_config(), sort_keys=False))
    stub = workdir / "stub" / "rnnbench"
    stub.parent.mkdir()
    stub.write_text(STUB)
    stub.chmod(0o755)
    with zipfile.ZipFile(stub.parent / "model.pt", "w") as archive:  # torch.save's format
        archive.writestr("model/data.pkl", b"stub weights " * 100)
    result = _snakemake(workdir, "--cores", "2", "--until", "train")
    assert result.returncode == 0, result.stderr[-4000:]
    runs = list((workdir / "results" / "runs").rglob("metrics.json"))
    assert len(runs) == 2 * CELLS_PER_DATASET
    return workdir


def _planned(workdir: Path, overlay: dict | None = None, *extra: str) -> tuple[dict[str, int], str]:
    """Jobs per rule that `snakemake -n` lists with ``overlay`` merged into the config."""
    args = ["-n", *extra]
    if overlay is not None:
        path = workdir / "overlay.yaml"
        path.write_text(yaml.safe_dump(overlay))
        args += ["--configfile", str(path)]
    result = _snakemake(workdir, *args)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    counts: dict[str, int] = {}
    for rule in re.findall(r"^(?:local)?rule (\w+):$", result.stdout, re.MULTILINE):
        counts[rule] = counts.get(rule, 0) + 1
    return counts, output


def _reviews(**section: Any) -> dict:
    return {"datasets": {"reviews": section}}


def _assert_nothing_retrains(counts: dict[str, int], output: str) -> None:
    rerun = {rule: n for rule, n in counts.items() if rule == "train" or rule in DATA_RULES}
    assert rerun == {}, output[-4000:]


def test_the_built_grid_is_up_to_date(workdir: Path) -> None:
    counts, output = _planned(workdir)
    _assert_nothing_retrains(counts, output)


@pytest.mark.parametrize(
    "overlay",
    [
        {"memory_budget_gib": 64},
        _reviews(text={"batch_size": 7}),
        _reviews(options={"max_line_bytes": 1 << 26}),
    ],
    ids=["memory_budget_gib", "text.batch_size", "options.max_line_bytes"],
)
def test_a_knob_that_cannot_change_the_arrays_retrains_no_cell(workdir: Path, overlay) -> None:
    counts, output = _planned(workdir, overlay)
    _assert_nothing_retrains(counts, output)


def test_pinning_the_sha256_retrains_no_cell(workdir: Path) -> None:
    pinned = sha256_of(workdir / "data" / "reviews.csv")
    counts, output = _planned(workdir, _reviews(sha256=pinned))
    _assert_nothing_retrains(counts, output)


@pytest.mark.parametrize("spelling", ["./data/reviews.csv", "absolute", "file://", "symlink"])
def test_the_same_file_by_another_path_retrains_no_cell(workdir: Path, spelling: str) -> None:
    source = workdir / "data" / "reviews.csv"
    if spelling == "absolute":
        spelling = str(source)
    elif spelling == "file://":
        spelling = source.as_uri()
    elif spelling == "symlink":
        link = workdir / "data" / "link-to-reviews.csv"
        if not link.exists():
            link.symlink_to(source)
        spelling = "data/link-to-reviews.csv"
    counts, output = _planned(workdir, _reviews(url=spelling))
    _assert_nothing_retrains(counts, output)


@pytest.mark.parametrize("how", ["touched", "copied", "re-encoded"])
def test_re_encoded_identical_arrays_retrain_no_cell(workdir: Path, how: str) -> None:
    """A newer .npz with the same bytes (re-encoded by its job, copied back, touched) is not
    a change: Snakemake compares the checksum it recorded when the cell trained (files up
    to --max-checksum-file-size, 1 MB by default)."""
    arrays = sorted((workdir / "results" / "prepared").glob("*/len8.npz"))
    before = {npz: npz.read_bytes() for npz in arrays}
    if how == "re-encoded":  # the real encode / synthesize jobs, run again
        targets = [str(npz.relative_to(workdir)) for npz in arrays]
        result = _snakemake(workdir, "--cores", "1", "--forcerun", *targets, "--", *targets)
        assert result.returncode == 0, result.stderr[-4000:]
    for npz in arrays:
        if how == "copied":  # a new file (inode, mtime) with the same bytes
            copy = npz.with_suffix(".copy")
            copy.write_bytes(npz.read_bytes())
            os.replace(copy, npz)
        elif how == "touched":
            os.utime(npz)
        assert npz.read_bytes() == before[npz]
    counts, output = _planned(workdir)
    _assert_nothing_retrains(counts, output)


def test_a_change_of_the_arrays_retrains_exactly_their_cells(workdir: Path) -> None:
    """The control: `padding` does change the arrays, so every reviews cell reruns."""
    counts, output = _planned(workdir, _reviews(padding="pre"))
    assert counts.get("encode") == 1, output[-4000:]
    assert counts.get("train") == CELLS_PER_DATASET, output[-4000:]


def test_a_change_of_the_spec_retrains_exactly_its_cells(workdir: Path) -> None:
    """The other control: every cell's spec is tracked (sgd's lr: 5 archs x 10 seeds x 2)."""
    overlay = {
        "datasets": {
            name: {"grid": {"per_optimizer": {"sgd": {"lr": 0.5}}}} for name in ("reviews", "mem")
        }
    }
    counts, output = _planned(workdir, overlay)
    assert counts.get("train") == 2 * len(ARCHS) * len(SEEDS), output[-4000:]
    assert not DATA_RULES & set(counts), output[-4000:]
    assert "Params have changed" in output


def test_a_pin_the_fetched_copy_does_not_match_fails_naming_the_file(workdir: Path) -> None:
    path = workdir / "overlay.yaml"
    path.write_text(yaml.safe_dump(_reviews(sha256="0" * 64)))
    result = _snakemake(workdir, "-n", "--configfile", str(path))
    assert result.returncode != 0
    message = result.stdout + result.stderr
    assert "resources/reviews/all/reviews.csv: its sha256 is" in message, message[-3000:]
    assert "datasets.reviews.url pins sha256 " + "0" * 64 in message
    assert "snakemake --forcerun resources/reviews/all/reviews.csv" in message


def test_damaged_results_stop_the_workflow_naming_the_files_and_the_rerun(
    workdir: Path,
) -> None:
    """A truncated model.pt or metrics.json is still an output to Snakemake (it exists and
    is newer than its inputs): `snakemake -n` fails naming each file and the command;
    that command reruns exactly those cells."""
    runs = workdir / "results" / "runs"
    model = runs / "reviews" / "lstm" / "adam" / "len8" / "seed3" / "model.pt"
    metrics = runs / "mem" / "gru" / "sgd" / "len8" / "seed7" / "metrics.json"
    intact = {path: path.read_bytes() for path in (model, metrics)}
    try:
        for path, data in intact.items():
            path.write_bytes(data[: len(data) // 2])
        result = _snakemake(workdir, "-n")
        message = result.stdout + result.stderr
        assert result.returncode != 0
        relative = [str(p.relative_to(workdir)) for p in (metrics, model)]
        assert f"{relative[0]}: not valid JSON, truncated or overwritten" in message, message
        assert f"{relative[1]}: not a whole torch archive, truncated or overwritten" in message
        assert f"snakemake --forcerun {relative[0]} {relative[1]}" in message
        counts, output = _planned(workdir, None, "--forcerun", *relative)
        assert counts.get("train") == 2, output[-4000:]
        assert not DATA_RULES & set(counts), output[-4000:]
    finally:
        for path, data in intact.items():
            path.write_bytes(data)
