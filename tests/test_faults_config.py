"""Config faults: each must fail when the workflow is parsed (``snakemake -n``), before any
job runs, with a message naming the key path at fault, the bad value and what to use.

Most cases mutate the repository's own config.yaml (or a preset merged into it) and call
the same checks the Snakefile runs at parse time (``validate_config`` + ``validate_grids``);
one case runs ``snakemake -n`` itself, to prove the error reaches the user there.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from snakemake.utils import update_config

from conftest import run_snakemake, write_memory_grid
from rnnbench.config import validate_config, validate_grids
from rnnbench.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
ARCHS = (
    "['flatten', 'cnn', 'rnn', 'lstm', 'gru', 'birnn', 'bilstm', 'bigru', 'rnn_cell', "
    "'lstm_cell', 'gru_cell', 'lstm_peephole', 'lstm_cifg', 'transformer', 'mingru', "
    "'minlstm', 'bimingru', 'biminlstm']"
)
OPTIMIZERS = "['sgd', 'sgd_momentum', 'nag', 'adadelta', 'rmsprop', 'adam', 'adamw']"

pytestmark = pytest.mark.fault


def repo_config() -> dict[str, Any]:
    return yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))


def parse_error(config: dict[str, Any]) -> str:
    """The ConfigError message the Snakefile would raise at parse time for ``config``."""
    with pytest.raises(ConfigError) as info:
        validate_config(config, SCHEMA)
        validate_grids(config)
    return str(info.value)


def mutated(mutate: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    config = repo_config()
    mutate(config)
    return config


def imdb_grid(config: dict[str, Any]) -> dict[str, Any]:
    return config["datasets"]["imdb"]["grid"]


def test_the_unmutated_repo_config_is_valid() -> None:
    """The baseline every mutation starts from passes, so each failure below is the fault's."""
    config = repo_config()
    validate_config(config, SCHEMA)
    validate_grids(config)


def test_unknown_architecture_in_a_grid_names_the_key_and_the_allowed_archs() -> None:
    message = parse_error(mutated(lambda c: imdb_grid(c).update(archs=["lstm", "mamba"])))
    assert f"datasets.imdb.grid.archs.1: 'mamba' is not allowed; use one of {ARCHS}" in message


def test_unknown_architecture_in_per_arch_names_the_key_and_the_allowed_archs() -> None:
    message = parse_error(mutated(lambda c: imdb_grid(c).update(per_arch={"lstmm": {"hidden": 8}})))
    assert "datasets.imdb.grid.per_arch" in message
    assert "'lstmm'" in message and ARCHS in message


def test_unknown_optimizer_in_a_grid_names_the_key_and_the_allowed_optimizers() -> None:
    message = parse_error(mutated(lambda c: imdb_grid(c).update(optimizers=["adam", "adamx"])))
    assert (
        f"datasets.imdb.grid.optimizers.1: 'adamx' is not allowed; use one of {OPTIMIZERS}"
        in message
    )


@pytest.mark.parametrize("lr", [0, -1, 0.0])
def test_non_positive_lr_in_grid_hparams_names_the_key_and_the_bound(lr: float) -> None:
    message = parse_error(mutated(lambda c: imdb_grid(c)["hparams"].update(lr=lr)))
    assert f"datasets.imdb.grid.hparams.lr: {lr!r} is out of range; it must be > 0" in message


@pytest.mark.parametrize("lr", [0, -1])
def test_non_positive_lr_in_per_optimizer_names_the_key_and_the_bound(lr: float) -> None:
    message = parse_error(
        mutated(lambda c: imdb_grid(c).update(per_optimizer={"adam": {"lr": lr}}))
    )
    assert (
        f"datasets.imdb.grid.per_optimizer.adam.lr: {lr!r} is out of range; it must be > 0"
        in message
    )


def test_non_positive_lr_in_per_arch_names_the_key_and_the_bound() -> None:
    message = parse_error(mutated(lambda c: imdb_grid(c).update(per_arch={"lstm": {"lr": -1}})))
    assert "datasets.imdb.grid.per_arch.lstm.lr: -1 is out of range; it must be > 0" in message


def test_unknown_batching_names_the_key_and_the_allowed_values() -> None:
    message = parse_error(mutated(lambda c: imdb_grid(c)["hparams"].update(batching="sorted")))
    assert (
        "datasets.imdb.grid.hparams.batching: 'sorted' is not allowed; "
        "use one of ['shuffled', 'by_length']"
    ) in message


@pytest.mark.parametrize("key", ["archs", "optimizers", "lengths", "seeds"])
def test_an_empty_grid_list_names_the_key_and_asks_for_a_value(key: str) -> None:
    message = parse_error(mutated(lambda c: imdb_grid(c).update({key: []})))
    assert f"datasets.imdb.grid.{key}: the list is empty; give at least 1 value(s)" in message


def test_unknown_format_names_the_key_and_the_allowed_formats() -> None:
    message = parse_error(mutated(lambda c: c["datasets"]["imdb"].update(format="parquet")))
    assert (
        "datasets.imdb.format: 'parquet' is not allowed; use one of "
        "['aclimdb', 'sentiment_table', 'jsonl', 'gmb_csv', 'conll', 'lines', 'synthetic']"
        in message
    )


def test_format_of_another_task_names_the_key_and_the_formats_of_the_task() -> None:
    message = parse_error(mutated(lambda c: c["datasets"]["imdb"].update(format="gmb_csv")))
    assert (
        "datasets.imdb.format: 'gmb_csv' does not serve task 'sentiment'; "
        "use one of ['aclimdb', 'jsonl', 'lines', 'sentiment_table']" in message
    )


def test_unknown_task_names_the_key_and_the_allowed_tasks() -> None:
    message = parse_error(mutated(lambda c: c["datasets"]["imdb"].update(task="translation")))
    assert (
        "datasets.imdb.task: 'translation' is not allowed; use one of "
        "['sentiment', 'ner', 'memory']" in message
    )


def test_a_preset_naming_a_missing_dataset_names_it_and_the_configured_ones() -> None:
    """kobylin2024 with a typo in its datasets_to_run, merged as Snakemake merges overlays."""
    preset = yaml.safe_load((REPO / "presets/kobylin2024.yaml").read_text(encoding="utf-8"))
    preset["datasets_to_run"] = ["imdb_kobylinn"]
    config = repo_config()
    update_config(config, preset)
    message = parse_error(config)
    assert message.startswith("datasets_to_run: 'imdb_kobylinn' is not a configured dataset")
    assert "'imdb_kobylin'" in message and "'imdb'" in message  # the names one could mean


def test_snakemake_dry_run_fails_on_a_bad_overlay_before_any_job(tmp_path: Path) -> None:
    """The real entry point: `snakemake -n` with an overlay naming an unknown arch."""
    write_memory_grid(tmp_path, ["rnn"], ["adam"])
    overlay = yaml.safe_load((tmp_path / "config.yaml").read_text(encoding="utf-8"))
    overlay["datasets"]["mem"]["grid"]["archs"] = ["rnn", "mamba"]
    (tmp_path / "overlay.yaml").write_text(yaml.safe_dump(overlay), encoding="utf-8")
    result = run_snakemake(tmp_path, "-n", "--configfile", str(tmp_path / "overlay.yaml"))
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"datasets.mem.grid.archs.1: 'mamba' is not allowed; use one of {ARCHS}" in output
    assert "config.schema.yaml" in output  # where every key is documented
    assert not (tmp_path / "results").exists() and not (tmp_path / "logs").exists()


def test_a_cnn_kernel_longer_than_a_length_fails_before_any_job() -> None:
    config = repo_config()
    grid = config["datasets"]["imdb"]["grid"]
    grid["lengths"] = [4, 120]
    grid["per_arch"] = {"cnn": {"conv_kernel": 5}}
    message = parse_error(config)
    assert "datasets.imdb.grid (arch cnn" in message
    assert "conv_kernel 5 is longer than the sequence length 4" in message


def test_a_memory_task_length_over_the_memory_budget_fails_before_any_job() -> None:
    config = repo_config()
    config["memory_budget_gib"] = 0.001  # 6,000 samples x 50 steps x 4 bytes = 1.1 MiB
    message = parse_error(config)
    assert "datasets.memory.grid.lengths: length 50 needs 0.00112 GiB" in message
    assert "over memory_budget_gib 0.001; use a shorter length" in message


def test_a_text_length_over_the_memory_budget_fails_in_encode_before_allocating(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rnnbench.data import stages
    from rnnbench.data.stages import encode_dataset
    from rnnbench.data.vocab import build_vocab
    from rnnbench.errors import DataError
    from rnnbench.io import write_jsonl_atomic

    records = [{"tokens": ["good", "film"], "label": "pos"}, {"tokens": ["bad"], "label": "neg"}]
    paths = {}
    for split in ("train", "validation", "test"):
        paths[split] = str(tmp_path / f"{split}.jsonl")
        write_jsonl_atomic(paths[split], records)
    build_vocab([r["tokens"] for r in records], ["neg", "pos"]).save(tmp_path / "vocab.json")
    ds = {"task": "sentiment", "padding": "post", "truncating": "post"}
    out = tmp_path / "len100000.npz"

    def allocate(*args: object, **kwargs: object) -> None:
        raise AssertionError("encode_split (which allocates the arrays) ran before the check")

    monkeypatch.setattr(stages, "encode_split", allocate)  # "before allocating", checked
    with pytest.raises(DataError) as info:
        encode_dataset("imdb", ds, paths, tmp_path / "vocab.json", 100_000, out, 0.001)
    assert "datasets.imdb.grid.lengths: length 100000 needs" in str(info.value)
    assert "6 examples, over memory_budget_gib 0.001" in str(info.value)
    assert not out.exists()
