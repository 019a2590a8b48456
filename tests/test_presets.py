"""Presets (presets/*.yaml): each validates on top of config.yaml with the shared-data
overlay, sets its grids completely, names only grid cells it runs in its published
entries, and plans exactly its grid under ``snakemake -n``."""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import REPO_ROOT, SCHEMA_PATH, sha256_of
from rnnbench.config import validate_config, validate_grids
from rnnbench.experiment.grid import grid_cells

PRESETS = sorted((REPO_ROOT / "presets").glob("*.yaml"))
SHARED_DATA = REPO_ROOT / "tests" / "shared-data.yaml"
GRID_KEYS = ("archs", "optimizers", "lengths", "seeds", "hparams")
EXPECTED = {"holodnikov2024", "karanik", "kobylin2024", "kovac2023", "quick"}


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def merge(base: dict, overlay: Mapping) -> dict:
    """Snakemake's update_config: mappings merge key by key, anything else replaces."""
    for key, value in overlay.items():
        if isinstance(value, Mapping):
            base[key] = merge(base.get(key) or {}, value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def merged(*overlays: Path) -> dict[str, Any]:
    """config.yaml, then each overlay in order, as `--configfile a b ...` gives it."""
    config = load(REPO_ROOT / "config.yaml")
    for overlay in overlays:
        merge(config, load(overlay))
    return config


def validated(*overlays: Path) -> dict[str, Any]:
    config = merged(*overlays)
    validate_config(config, SCHEMA_PATH)
    return config


def cells(config: dict) -> list[dict]:
    return [
        cell
        for name in config["datasets_to_run"]
        for cell in grid_cells(name, config["datasets"][name])
    ]


def without_sources(config: dict) -> dict:
    out = copy.deepcopy(config)
    for ds in out["datasets"].values():
        ds.pop("url", None)
        ds.pop("sha256", None)
    return out


ids = [p.stem for p in PRESETS]


def test_the_issue_presets_exist() -> None:
    assert {p.stem for p in PRESETS} >= EXPECTED


@pytest.mark.parametrize("preset", PRESETS, ids=ids)
def test_preset_validates_with_the_shared_data(preset: Path) -> None:
    config = validated(preset, SHARED_DATA)
    validate_grids(config)
    assert cells(config), "a preset trains something"
    # Offline: every dataset it runs reads a local copy (or is generated): the full
    # corpora in ../shared/data, or the samples that ship in data/samples/.
    for name in config["datasets_to_run"]:
        url = config["datasets"][name].get("url")
        assert url is None or url.startswith(("../shared/data/", "data/samples/")), (name, url)


@pytest.mark.parametrize("preset", PRESETS, ids=ids)
def test_shared_data_changes_nothing_but_the_sources(preset: Path) -> None:
    """tests/shared-data.yaml comes after the preset and replaces lists (its stubs' grid
    lengths): it must not change what the preset runs."""
    with_shared, alone = (
        without_sources(merged(preset, SHARED_DATA)),
        without_sources(merged(preset)),
    )
    added = set(with_shared["datasets"]) - set(alone["datasets"])  # stubs of other presets
    assert not added & set(alone["datasets_to_run"])
    for name in added:
        del with_shared["datasets"][name]
    assert with_shared == alone


@pytest.mark.parametrize("preset", PRESETS, ids=ids)
def test_preset_sets_its_grids_completely(preset: Path) -> None:
    """Nothing of config.yaml's grids leaks into a preset's through the mapping merge."""
    own = load(preset)
    config = validated(preset, SHARED_DATA)
    for name in own["datasets_to_run"]:
        grid = own["datasets"][name]["grid"]
        missing = [key for key in GRID_KEYS if key not in grid]
        assert not missing, f"{preset.name}: datasets.{name}.grid lacks {missing}"
        result = config["datasets"][name]["grid"]
        for key in (*GRID_KEYS, "per_arch", "per_optimizer"):
            assert result[key] == grid.get(key, {}), f"{preset.name}: {name}.grid.{key}"


@pytest.mark.parametrize("preset", PRESETS, ids=ids)
def test_published_entries_name_cells_of_the_grid(preset: Path) -> None:
    config = validated(preset, SHARED_DATA)
    assert config["published"], f"{preset.name} carries its source's published numbers"
    planned = {(c["dataset"], c["arch"], c["optimizer"], c["length"]) for c in cells(config)}
    for entry in config["published"]:
        key = (entry["dataset"], entry["arch"], entry["optimizer"], entry["length"])
        assert key in planned, f"{preset.name}: {entry['source']} names {key}, not in the grid"
        task = config["datasets"][entry["dataset"]]["task"]
        allowed = {
            "sentiment": {"accuracy", "f1", "auc", "loss"},
            "memory": {"accuracy", "loss"},
            "ner": {"token_accuracy", "non_o_accuracy", "entity_f1", "entity_precision"}
            | {"entity_recall", "loss", "strict_entity_f1"},
        }[task]
        assert {entry["metric"], *entry.get("extra_metrics", [])} <= allowed, entry
        if not entry.get("credible", True):
            assert entry.get("reason"), entry


def test_published_presets_keep_the_published_setup() -> None:
    """The defaults are the sources' setups, not shortened ones."""
    configs = {p.stem: validated(p, SHARED_DATA) for p in PRESETS if p.stem in EXPECTED}

    def hp(preset: str, dataset: str) -> dict:
        return configs[preset]["datasets"][dataset]["grid"]["hparams"]

    kobylin = configs["kobylin2024"]["datasets"]["imdb_kobylin"]
    assert kobylin["padding"] == "pre" and kobylin["truncating"] == "post"
    assert kobylin["vocab"]["max_size"] == 10000 and kobylin["grid"]["lengths"] == [120]
    assert {"epochs": 10, "batch_size": 128, "embedding_dim": 16, "hidden": 32}.items() <= hp(
        "kobylin2024", "imdb_kobylin"
    ).items()
    assert kobylin["grid"]["archs"] == ["flatten", "bilstm", "bigru", "cnn"]
    for name in ("imdb_karanik", "imdb_karanik_published_lr"):
        ds = configs["karanik"]["datasets"][name]
        assert ds["text"]["tokenizer"] == "basic_english" and ds["grid"]["lengths"] == [200]
        assert {"epochs": 5, "batch_size": 1000, "layers": 25, "hidden": 8}.items() <= hp(
            "karanik", name
        ).items()
    assert configs["karanik"]["datasets"]["imdb_karanik"]["grid"]["optimizers"] == [
        "sgd",
        "adadelta",
        "nag",
        "adam",
    ]
    lrs = configs["karanik"]["datasets"]["imdb_karanik_published_lr"]["grid"]["per_arch"]
    assert {arch: v["lr"] for arch, v in lrs.items()} == {
        "rnn": 1e-7,
        "lstm": 1e-10,
        "gru": 1e-9,
    }
    for name in ("memory_exp1", "memory_sweep"):
        assert {"epochs": 100, "batch_size": 32, "hidden": 64, "lr": 0.001}.items() <= hp(
            "holodnikov2024", name
        ).items()
    assert {"epochs": 3, "batch_size": 32, "embedding_dim": 50, "hidden": 64}.items() <= hp(
        "kovac2023", "gmb"
    ).items()
    for preset in ("holodnikov2024", "karanik", "kobylin2024", "kovac2023"):
        for name in configs[preset]["datasets_to_run"]:
            grid_hp = hp(preset, name)
            assert "train_subsample" not in grid_hp and "eval_subsample" not in grid_hp


def test_quick_runs_on_the_shipped_samples_with_three_seeds() -> None:
    """The main job needs nothing beside the clone: its text datasets read the samples in
    data/samples/ (checksums pinned), the memory task is generated, and every cell has at
    least 3 seeds, so no verdict rests on one seed."""
    quick = validated(REPO_ROOT / "presets" / "quick.yaml")  # no ../shared overlay
    validate_grids(quick)
    assert set(quick["datasets_to_run"]) == {"imdb_sample", "gmb_sample", "memory"}
    for name in quick["datasets_to_run"]:
        ds = quick["datasets"][name]
        assert len(ds["grid"]["seeds"]) >= 3, name
        if ds["task"] == "memory":
            continue
        path = REPO_ROOT / ds["url"]
        assert ds["url"].startswith("data/samples/") and path.is_file(), name
        assert sha256_of(path) == ds["sha256"], f"{name}: data/samples/README.md and the preset"
        assert ds["sha256"] in (REPO_ROOT / "data" / "samples" / "README.md").read_text()


def _job_counts(output: str) -> dict[str, int]:
    table = output.split("Job stats:", 1)[1]
    counts: dict[str, int] = {}
    for line in table.splitlines()[3:]:
        match = re.fullmatch(r"(\S+)\s+(\d+)", line.strip())
        if not match:
            break
        counts[match[1]] = int(match[2])
    return counts


@pytest.mark.slow
@pytest.mark.parametrize("preset", PRESETS, ids=ids)
def test_dry_run_plans_exactly_the_grid(preset: Path) -> None:
    shared = load(SHARED_DATA)["datasets"]
    local = {REPO_ROOT / ds["url"] for ds in shared.values() if ds.get("url")}
    missing = [str(p) for p in local if not p.exists()]
    if missing:
        pytest.skip(f"the shared datasets are not here: {missing}")
    # -F plans every job whatever is already built, so the count is the grid's. A dry run
    # writes no results, and --nolock keeps it from touching the lock of a real run that
    # may be going on in the repository, so the repository is safe to use as workdir.
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO_ROOT / "Snakefile")]
    cmd += ["-d", str(REPO_ROOT), "-n", "-F", "--nolock"]
    cmd += ["--configfile", str(preset), str(SHARED_DATA)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=REPO_ROOT)
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    counts = _job_counts(result.stdout + result.stderr)
    config = validated(preset, SHARED_DATA)
    # grid.train_sizes cells run in train_sized (train.smk): the same job, one path deeper
    assert counts.get("train", 0) + counts.get("train_sized", 0) == len(cells(config))
    assert counts["published"] == 1
    assert counts["compare"] == len(config["datasets_to_run"])
