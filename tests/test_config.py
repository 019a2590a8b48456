"""Config validation: every invalid config fails with a message naming the key at fault.

Most cases call :func:`rnnbench.config.validate_config` directly; a few go through a real
``snakemake -n`` to show the same message reaches the user before any job runs.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import REPO_ROOT, SCHEMA_PATH, base_config
from rnnbench.config import validate_config
from rnnbench.errors import ConfigError
from rnnbench.experiment.sources import (
    dataset_sources,
    is_remote,
    signal_index,
    stage_options,
)

Mutation = Callable[[dict[str, Any]], None]


def _imdb(cfg: dict) -> dict:
    return cfg["datasets"]["imdb"]


def _gmb(cfg: dict) -> dict:
    return cfg["datasets"]["gmb"]


def _memory(cfg: dict) -> dict:
    return cfg["datasets"]["memory"]


def _set(get: Callable[[dict], dict], **values: Any) -> Mutation:
    return lambda cfg: get(cfg).update(values)


def _drop(get: Callable[[dict], dict], key: str) -> Mutation:
    return lambda cfg: get(cfg).pop(key)


def _both(*mutations: Mutation) -> Mutation:
    def apply(cfg: dict) -> None:
        for mutation in mutations:
            mutation(cfg)

    return apply


# (id, mutation of the base config, strings the error message must contain)
INVALID: list[tuple[str, Mutation, list[str]]] = [
    ("unknown-format", _set(_imdb, format="parquet"), ["datasets.imdb.format", "'parquet'"]),
    ("unknown-task", _set(_imdb, task="translation"), ["datasets.imdb.task", "'translation'"]),
    (
        "format-not-serving-task",
        _set(_imdb, format="conll"),
        ["datasets.imdb.format", "'conll'", "does not serve task 'sentiment'"],
    ),
    (
        "synthetic-for-ner",
        _set(_gmb, format="synthetic"),
        ["datasets.gmb.format", "does not serve task 'ner'"],
    ),
    ("length-zero", _set(_imdb, grid={"lengths": [0]}), ["datasets.imdb.grid.lengths", "0"]),
    (
        "length-negative",
        _set(_memory, grid={"lengths": [20, -1]}),
        ["datasets.memory.grid.lengths", "-1"],
    ),
    ("lengths-empty", _set(_imdb, grid={"lengths": []}), ["datasets.imdb.grid.lengths"]),
    ("grid-missing", _drop(_imdb, "grid"), ["datasets.imdb.grid", "missing"]),
    (
        "validation-fraction-zero",
        _set(_imdb, split={"validation_fraction": 0}),
        ["datasets.imdb.split.validation_fraction", "0"],
    ),
    (
        "validation-fraction-1.5",
        _set(_imdb, split={"validation_fraction": 1.5}),
        ["datasets.imdb.split.validation_fraction", "1.5"],
    ),
    (
        "fraction-one",
        _set(_gmb, split={"fractions": {"train": 1, "validation": 0.1, "test": 0.1}}),
        ["datasets.gmb.split.fractions.train"],
    ),
    (
        "fractions-not-summing-to-1",
        _set(_gmb, split={"fractions": {"train": 0.8, "validation": 0.1, "test": 0.2}}),
        ["datasets.gmb.split.fractions", "sum to 1.1, not 1"],
    ),
    (
        "fractions-missing-test",
        _set(_gmb, split={"fractions": {"train": 0.9, "validation": 0.1}}),
        ["datasets.gmb.split.fractions", "'test'"],
    ),
    (
        "neither-url-nor-splits",
        _drop(_imdb, "url"),
        ["datasets.imdb", "`url`", "`splits", "neither is set"],
    ),
    (
        "url-null-no-splits",
        _set(_imdb, url=None),
        ["datasets.imdb", "neither is set"],
    ),
    (
        "both-url-and-splits",
        _set(_imdb, splits={"train": "a.csv", "test": "b.csv"}),
        ["datasets.imdb", "both are set"],
    ),
    (
        "splits-for-gmb",
        _both(_set(_gmb, url=None), _set(_gmb, splits={"train": "a.csv", "test": "b.csv"})),
        ["datasets.gmb.splits", "'gmb_csv'", "use `url`"],
    ),
    (
        "splits-for-aclimdb",
        _both(_set(_imdb, url=None), _set(_imdb, splits={"train": "a.tgz", "test": "b.tgz"})),
        ["datasets.imdb.splits", "'aclimdb'", "use `url`"],
    ),
    (
        "splits-without-test",
        _both(_set(_imdb, url=None), _set(_imdb, splits={"train": "a.csv"})),
        ["datasets.imdb.splits", "'test'"],
    ),
    (
        "datasets-to-run-missing",
        lambda cfg: cfg.update(datasets_to_run=["imdb", "sst2"]),
        ["datasets_to_run", "'sst2'", "is not a configured dataset"],
    ),
    (
        "dataset-key-typo",
        _set(_imdb, sha265="0" * 64),
        ["datasets.imdb", "unknown key(s) ['sha265']", "sha256"],
    ),
    (
        "nested-key-typo",
        _set(_imdb, vocab={"max_szie": 100}),
        ["datasets.imdb.vocab", "unknown key(s) ['max_szie']", "max_size"],
    ),
    (
        "top-level-key-typo",
        lambda cfg: cfg.update(dataset_to_run=["imdb"]),
        ["unknown key(s) ['dataset_to_run']", "datasets_to_run"],
    ),
    (
        "signal-position-past-end",
        lambda cfg: _memory(cfg)["synthetic"].update(signal_position=30),
        ["datasets.memory.synthetic.signal_position", "30", "length 20"],
    ),
    (
        "signal-position-negative-past-start",
        lambda cfg: _memory(cfg)["synthetic"].update(signal_position=-21),
        ["datasets.memory.synthetic.signal_position", "-21", "length 20"],
    ),
    (
        "signal-position-from-end-past-start",
        lambda cfg: _memory(cfg)["synthetic"].update(signal_position={"from_end": 21}),
        ["datasets.memory.synthetic.signal_position", "from_end", "length 20"],
    ),
    (
        "signal-position-from-start-past-end",
        lambda cfg: _memory(cfg)["synthetic"].update(signal_position={"from_start": 20}),
        ["datasets.memory.synthetic.signal_position", "from_start", "length 20"],
    ),
    ("synthetic-missing", _drop(_memory, "synthetic"), ["datasets.memory.synthetic", "missing"]),
    (
        "synthetic-too-few-samples",
        lambda cfg: _memory(cfg)["synthetic"]["samples"].update(test=1),
        ["datasets.memory.synthetic.samples.test"],
    ),
    ("bad-sha256", _set(_imdb, sha256="abc"), ["datasets.imdb.sha256", "'abc'"]),
    (
        "max-size-below-specials",
        _set(_imdb, vocab={"max_size": 2}),
        ["datasets.imdb.vocab.max_size", "2"],
    ),
    ("min-freq-zero", _set(_imdb, vocab={"min_freq": 0}), ["datasets.imdb.vocab.min_freq"]),
    ("bad-padding", _set(_imdb, padding="both"), ["datasets.imdb.padding", "'both'"]),
    (
        "unknown-tokenizer",
        _set(_imdb, text={"tokenizer": "nltk"}),
        ["datasets.imdb.text.tokenizer", "'nltk'"],
    ),
    (
        "bad-dataset-name",
        lambda cfg: cfg["datasets"].update({"my data": cfg["datasets"]["imdb"]}),
        ["datasets", "'my data'"],
    ),
    ("no-datasets-to-run", lambda cfg: cfg.pop("datasets_to_run"), ["'datasets_to_run'"]),
    (
        "signal-from-end-zero",
        _set(lambda cfg: _memory(cfg)["synthetic"], signal_position={"from_end": 0}),
        ["datasets.memory.synthetic.signal_position.from_end", "must be >= 1"],
    ),
    (
        "memory-with-url",
        _set(_memory, url="data/memory.csv"),
        ["datasets.memory.url", "generated, not read"],
    ),
]


@pytest.mark.fault
@pytest.mark.parametrize(
    ("mutate", "expected"), [case[1:] for case in INVALID], ids=[case[0] for case in INVALID]
)
def test_invalid_config_names_the_key(mutate: Mutation, expected: list[str]) -> None:
    cfg = base_config()
    mutate(cfg)
    with pytest.raises(ConfigError) as info:
        validate_config(cfg, SCHEMA_PATH)
    message = str(info.value)
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"


def test_base_config_is_valid_and_defaults_are_filled() -> None:
    cfg = base_config()
    assert validate_config(cfg, SCHEMA_PATH) == []
    imdb, gmb, memory = (cfg["datasets"][n] for n in ("imdb", "gmb", "memory"))
    assert imdb["split"] == {
        "validation_fraction": 0.1,
        "fractions": {"train": 0.8, "validation": 0.1, "test": 0.1},
        "seed": 0,
    }
    assert imdb["text"] == {
        "tokenizer": "spacy",
        "lowercase": None,
        "strip_html": True,
    }
    assert imdb["vocab"] == {"max_size": None, "min_freq": 1}
    assert (imdb["padding"], imdb["truncating"]) == ("post", "post")
    assert gmb["options"]["encoding"] is None
    assert memory["synthetic"]["signal_position"] == 5
    assert memory["synthetic"]["seed"] == 0
    assert cfg["target"] == "all"


def test_given_values_are_kept_over_defaults() -> None:
    cfg = base_config()
    cfg["datasets"]["imdb"]["split"] = {"seed": 7}
    cfg["datasets"]["imdb"]["vocab"] = {"max_size": 50}
    validate_config(cfg, SCHEMA_PATH)
    assert cfg["datasets"]["imdb"]["split"]["seed"] == 7
    assert cfg["datasets"]["imdb"]["split"]["validation_fraction"] == 0.1
    assert cfg["datasets"]["imdb"]["vocab"] == {"max_size": 50, "min_freq": 1}


def test_remote_url_without_sha256_is_allowed_with_a_warning() -> None:
    cfg = base_config()
    del cfg["datasets"]["imdb"]["sha256"]
    notes = validate_config(cfg, SCHEMA_PATH)
    assert len(notes) == 1
    assert "datasets.imdb" in notes[0]
    assert "https://example.org/aclImdb_v1.tar.gz" in notes[0]
    assert "no sha256" in notes[0]
    assert "fetch log" in notes[0]


def test_remote_split_sources_without_sha256_warn_per_split() -> None:
    cfg = base_config()
    imdb = cfg["datasets"]["imdb"]
    imdb.update(format="sentiment_table", url=None)
    imdb["splits"] = {
        "train": "https://example.org/train.csv",
        "test": {"url": "https://example.org/test.csv", "sha256": "a" * 64},
    }
    notes = validate_config(cfg, SCHEMA_PATH)
    assert len(notes) == 1
    assert "https://example.org/train.csv (train)" in notes[0]


@pytest.mark.parametrize("url", ["data/ner.csv.gz", "/abs/ner.csv.gz", "file:///abs/ner.csv.gz"])
def test_local_source_without_sha256_does_not_warn(url: str) -> None:
    cfg = base_config()
    cfg["datasets"]["gmb"].update(url=url, sha256=None)
    assert validate_config(cfg, SCHEMA_PATH) == []


def test_overlay_can_switch_a_dataset_from_url_to_splits() -> None:
    cfg = base_config()
    cfg["datasets"]["imdb"].update(
        format="sentiment_table", url=None, splits={"train": "a.csv", "test": "b.csv"}
    )
    validate_config(cfg, SCHEMA_PATH)
    assert dataset_sources("imdb", cfg["datasets"]["imdb"]) == {
        "train": {"url": "a.csv", "sha256": None},
        "test": {"url": "b.csv", "sha256": None},
    }


def test_dataset_sources() -> None:
    cfg = base_config()
    validate_config(cfg, SCHEMA_PATH)
    assert dataset_sources("imdb", cfg["datasets"]["imdb"]) == {
        "all": {"url": "https://example.org/aclImdb_v1.tar.gz", "sha256": "0" * 64}
    }
    assert dataset_sources("memory", cfg["datasets"]["memory"]) == {}


def test_is_remote() -> None:
    assert is_remote("https://x/y") and is_remote("http://x/y") and is_remote("ftp://x/y")
    assert not is_remote("file:///x/y") and not is_remote("data/x.csv")


@pytest.mark.parametrize(
    ("position", "length", "index"),
    [
        (5, 20, 5),
        (0, 20, 0),
        (19, 20, 19),
        (-1, 20, 19),
        (-20, 20, 0),
        ({"from_start": 3}, 20, 3),
        ({"from_end": 1}, 20, 19),
        ({"from_end": 5}, 50, 45),
    ],
)
def test_signal_index(position: int | dict, length: int, index: int) -> None:
    assert signal_index(position, length) == index


@pytest.mark.parametrize("position", [20, -21, {"from_start": 20}, {"from_end": 21}])
def test_signal_index_outside(position: int | dict) -> None:
    with pytest.raises(ValueError, match="outside a sequence of length 20"):
        signal_index(position, 20)


def test_stage_options_is_canonical_json_of_the_given_keys() -> None:
    ds = {"task": "ner", "vocab": {"min_freq": 2, "max_size": None}, "padding": "pre"}
    assert stage_options(ds, "vocab", "task") == (
        '{"task": "ner", "vocab": {"max_size": null, "min_freq": 2}}'
    )
    assert stage_options(ds, "missing") == '{"missing": null}'


# --- the same failures through `snakemake -n` ---------------------------------------------


def _snakemake_dry_run(workdir: Path, cfg: dict) -> subprocess.CompletedProcess[str]:
    (workdir / "config.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO_ROOT / "Snakefile")]
    command += ["-d", str(workdir), "--cores", "1", "-n", "prepare"]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


SNAKEMAKE_CASES = {
    "unknown-format": (_set(_imdb, format="parquet"), "datasets.imdb.format"),
    "length-zero": (_set(_memory, grid={"lengths": [0]}), "datasets.memory.grid.lengths"),
    "neither-url-nor-splits": (_drop(_gmb, "url"), "datasets.gmb"),
}


@pytest.mark.slow
@pytest.mark.fault
@pytest.mark.parametrize("case", list(SNAKEMAKE_CASES))
def test_invalid_config_fails_at_snakemake_dry_run(tmp_path: Path, case: str) -> None:
    mutate, key = SNAKEMAKE_CASES[case]
    cfg = base_config()
    mutate(cfg)
    result = _snakemake_dry_run(tmp_path, cfg)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "invalid config" in output or "datasets" in output
    assert key in output, output
    assert "Job stats" not in output  # it failed before any job was planned
    assert not (tmp_path / "resources").exists()


def test_schema_names_the_same_architectures_and_optimizers_as_the_code() -> None:
    from rnnbench.names import ARCHITECTURES, OPTIMIZERS

    schema = yaml.safe_load(Path(SCHEMA_PATH).read_text())
    assert tuple(schema["$defs"]["arch"]["enum"]) == ARCHITECTURES
    assert tuple(schema["$defs"]["optimizer"]["enum"]) == OPTIMIZERS


@pytest.mark.fault
def test_stage_options_leave_out_the_knobs_that_cannot_change_an_output() -> None:
    ds = {
        "text": {"tokenizer": "spacy", "batch_size": 7},
        "options": {"header": True, "max_line_bytes": 4096},
    }
    assert stage_options(ds, "text", "options") == (
        '{"options": {"header": true}, "split_options": {}, "text": {"tokenizer": "spacy"}}'
    )


def test_a_text_batch_size_is_accepted_with_a_warning_that_it_is_ignored() -> None:
    cfg = base_config()
    cfg["datasets"]["imdb"]["text"] = {"batch_size": 64}
    notes = validate_config(cfg, SCHEMA_PATH)
    assert notes == [
        "datasets.imdb.text.batch_size is ignored (spaCy's tokenizer reads text by text "
        "whatever the batch size) and reruns nothing; remove it"
    ]
