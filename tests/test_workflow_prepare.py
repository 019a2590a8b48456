"""End to end: `snakemake prepare` on tiny generated datasets in a temp dir.

One real run builds a sentiment dataset (aclImdb tarball via a file:// URL with its
sha256), an NER dataset (GMB .csv.gz by local path, no sha256) and the memory task at two
lengths; the tests then check the arrays and data cards, that a second run does nothing,
and that editing the IMDB vocabulary's max_size reruns only IMDB's vocab, encode and
datacard jobs.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from conftest import REPO_ROOT, aclimdb, gmb, gmb_sentences, sha256_of
from rnnbench.data.arrays import IGNORE_INDEX, load_encoded

pytestmark = pytest.mark.slow

IMDB_LENGTH, GMB_LENGTH, MEMORY_LENGTHS = 16, 6, [5, 9]
REMOTE = "https://example.org/sst2.csv"


def _config(workdir: Path) -> dict[str, Any]:
    tarball = aclimdb(workdir / "data" / "aclImdb tiny.tar.gz", n_train=10, n_test=4)
    gmb(workdir / "data" / "ner_dataset.csv.gz", gmb_sentences(20))
    return {
        "datasets_to_run": ["imdb", "gmb", "memory"],
        "datasets": {
            "imdb": {
                "task": "sentiment",
                "format": "aclimdb",
                "url": tarball.as_uri(),  # a file:// URL (with an escaped space)
                "sha256": sha256_of(tarball),
                # basic_english: spaCy's import would add seconds to each tokenize job
                "text": {"tokenizer": "basic_english"},
                "vocab": {"max_size": 20},
                "grid": {"lengths": [IMDB_LENGTH]},
            },
            "gmb": {
                "task": "ner",
                "format": "gmb_csv",
                "url": "data/ner_dataset.csv.gz",  # relative to the working directory
                "grid": {"lengths": [GMB_LENGTH]},
            },
            "memory": {
                "task": "memory",
                "format": "synthetic",
                "synthetic": {
                    "samples": {"train": 20, "validation": 6, "test": 6},
                    "signal_position": {"from_end": 2},
                },
                "grid": {"lengths": MEMORY_LENGTHS},
            },
            # configured but not run: it must warn (remote, no sha256) and build nothing
            "sst2": {
                "task": "sentiment",
                "format": "sentiment_table",
                "url": REMOTE,
                "grid": {"lengths": [10]},
            },
        },
    }


def _snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO_ROOT / "Snakefile")]
    command += ["-d", str(workdir), "--cores", "2", *args, "prepare"]
    env = dict(os.environ)
    # the rules call the `rnnbench` script installed next to this interpreter
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        command, cwd=workdir, env=env, capture_output=True, text=True, timeout=400, check=False
    )


def _logs(workdir: Path) -> str:
    return "\n".join(
        f"--- {p.relative_to(workdir)}\n{p.read_text(errors='replace')[-2000:]}"
        for p in sorted((workdir / "logs").rglob("*.log"))
    )


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = tmp_path_factory.mktemp("prepare")
    config = _config(workdir)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    result = _snakemake(workdir)
    assert result.returncode == 0, result.stderr[-6000:] + _logs(workdir)
    return workdir


def _card(workdir: Path, name: str) -> dict:
    return json.loads((workdir / "results" / "prepared" / name / "datacard.json").read_text())


def _check_padding(x: np.ndarray, lengths: np.ndarray, pad: int = 0) -> None:
    for row, n in zip(x, lengths, strict=True):
        assert 1 <= n <= x.shape[1]
        assert (row[n:] == pad).all()


def test_imdb_arrays_and_card(workdir: Path) -> None:
    data = load_encoded(workdir / f"results/prepared/imdb/len{IMDB_LENGTH}.npz")
    assert data.meta.task == "sentiment" and data.meta.length == IMDB_LENGTH
    assert data.meta.vocab_size == 20 and data.meta.label_names == ["neg", "pos"]
    sizes = {"train": 18, "validation": 2, "test": 8}  # 10% of 20 carved, stratified
    for split, n in sizes.items():
        arrays = data.splits[split]
        assert arrays.x.shape == (n, IMDB_LENGTH) and arrays.x.dtype == np.int32
        assert arrays.lengths.shape == (n,) and arrays.lengths.dtype == np.int32
        assert arrays.y.shape == (n,) and arrays.y.dtype == np.int64
        assert sorted(np.bincount(arrays.y).tolist()) == [n // 2, n // 2]
        # "A great film, truly great.<br /><br />test review 3 of pos": 12 tokens, post-padded
        assert (arrays.lengths == 12).all()
        _check_padding(arrays.x, arrays.lengths)
        assert arrays.x[:, :12].min() > 0 and arrays.x.max() < 20
    assert (data.splits["train"].x == 1).any()  # max_size 20 leaves some words <unk>

    card = _card(workdir, "imdb")
    assert {s: c["examples"] for s, c in card["splits"].items()} == sizes
    assert card["splits"]["validation"]["label_counts"] == {"neg": 1, "pos": 1}
    assert card["vocab_size"] == 20 and card["tokenizer"] == "basic_english"
    assert card["splits"]["train"]["oov_rate"] > 0
    assert card["splits"]["test"]["token_length"]["max"] == 12
    vocab = json.loads((workdir / "results/prepared/imdb/vocab.json").read_text())
    assert "<br" not in vocab["tokens"] and "unlabelled" not in vocab["tokens"]


def test_gmb_arrays_and_card(workdir: Path) -> None:
    data = load_encoded(workdir / f"results/prepared/gmb/len{GMB_LENGTH}.npz")
    assert data.meta.task == "ner" and data.meta.label_names == ["O", "B-geo", "B-per", "I-geo"]
    sizes = {"train": 16, "validation": 2, "test": 2}
    padded = 0
    for split, n in sizes.items():
        arrays = data.splits[split]
        assert arrays.x.shape == (n, GMB_LENGTH) and arrays.x.dtype == np.int32
        assert arrays.y.shape == (n, GMB_LENGTH) and arrays.y.dtype == np.int64
        _check_padding(arrays.x, arrays.lengths)
        _check_padding(arrays.y, arrays.lengths, pad=IGNORE_INDEX)
        for row, length in zip(arrays.y, arrays.lengths, strict=True):
            assert (row[:length] >= 0).all()
        padded += int((arrays.lengths < GMB_LENGTH).sum())
    assert padded > 0  # 5-token sentences exist, so IGNORE_INDEX padding was checked

    card = _card(workdir, "gmb")
    assert {s: c["examples"] for s, c in card["splits"].items()} == sizes
    assert card["tokenizer"] == "given" and card["lowercase"] is False
    assert "O" in card["splits"]["train"]["tag_counts"]
    vocab = json.loads((workdir / "results/prepared/gmb/vocab.json").read_text())
    assert "caf\xe9" in vocab["tokens"] and "a\x85b" in vocab["tokens"]  # latin-1 kept


def test_memory_arrays_and_card(workdir: Path) -> None:
    for length in MEMORY_LENGTHS:
        data = load_encoded(workdir / f"results/prepared/memory/len{length}.npz")
        assert data.meta.task == "memory" and data.meta.vocab_size == 0
        for split, n in {"train": 20, "validation": 6, "test": 6}.items():
            arrays = data.splits[split]
            assert arrays.x.shape == (n, length) and arrays.x.dtype == np.float32
            assert int(arrays.y.sum()) == n // 2
            signal = arrays.x[:, length - 2]  # signal_position {from_end: 2}
            np.testing.assert_array_equal(signal, np.where(arrays.y == 1, 1.0, -1.0))
    card = _card(workdir, "memory")
    assert {k: v["signal_index"] for k, v in card["lengths"].items()} == {"5": 3, "9": 7}


def test_nothing_else_was_built(workdir: Path) -> None:
    assert sorted(p.name for p in (workdir / "results" / "prepared").iterdir()) == [
        "gmb",
        "imdb",
        "memory",
    ]
    assert sorted(p.name for p in (workdir / "resources").iterdir()) == ["gmb", "imdb"]
    leftovers = [p for p in workdir.rglob(".*.tmp-*")]
    assert leftovers == []


def test_fetch_logs_the_hash_to_pin(workdir: Path) -> None:
    gmb_logs = list((workdir / "logs" / "prepare" / "gmb").glob("fetch-*.log"))
    assert len(gmb_logs) == 1
    digest = sha256_of(workdir / "data" / "ner_dataset.csv.gz")
    assert f"pin it by adding `sha256: {digest}`" in gmb_logs[0].read_text()
    imdb_log = next((workdir / "logs" / "prepare" / "imdb").glob("fetch-*.log")).read_text()
    assert f"sha256 {sha256_of(workdir / 'data' / 'aclImdb tiny.tar.gz')}" in imdb_log
    assert "pin it" not in imdb_log


def test_second_run_does_nothing_and_warns_about_the_unpinned_remote(workdir: Path) -> None:
    result = _snakemake(workdir, "-n")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Nothing to be done" in output, output
    assert f"datasets.sst2: remote source {REMOTE} (all) has no sha256" in output


def _planned_jobs(output: str) -> set[tuple[str, str]]:
    """(rule, dataset) of every job a dry run lists."""
    jobs = set()
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", output):
        rule = re.match(r"(?:local)?rule (\w+):", block)
        if rule:
            dataset = re.search(r"^\s+wildcards: .*?dataset=([\w-]+)", block, re.MULTILINE)
            jobs.add((rule.group(1), dataset.group(1) if dataset else ""))
    return jobs


def test_changing_imdb_max_size_reruns_only_its_vocab_encode_and_datacard(
    workdir: Path,
) -> None:
    config_path = workdir / "config.yaml"
    original = config_path.read_text()
    config = yaml.safe_load(original)
    config["datasets"]["imdb"]["vocab"]["max_size"] = 12
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    try:
        result = _snakemake(workdir, "-n")
    finally:
        config_path.write_text(original)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert _planned_jobs(output) == {
        ("vocab", "imdb"),
        ("encode", "imdb"),
        ("datacard", "imdb"),
        ("prepare", ""),
    }, output
    assert "Params have changed" in output
