"""The architecture registry: one definition of every architecture that the schema, the
parse-time checks, the training spec, ``build_model`` and ``rnnbench summary`` derive
from; an architecture added by one module + one registry line trains in a grid; model
hyperparameter faults fail at ``snakemake -n`` naming the key; every source file a
training job executes is an input of ``train``; the modern preset's tiny version trains."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from conftest import REPO_ROOT, SCHEMA_PATH, copy_workflow, run_snakemake, write_memory_grid
from rnnbench import registry
from rnnbench.cli import build_parser
from rnnbench.config import memory_grid_config, validate_config, validate_grids
from rnnbench.errors import ConfigError
from rnnbench.experiment.spec import MODEL_KEYS, RECURRENT_ARCHS, TRAINING_DEFAULTS
from rnnbench.models import build_model
from rnnbench.names import ARCHITECTURES, RECURRENT
from test_models import make_meta

BUILT_IN = (
    "flatten",
    "cnn",
    "rnn",
    "lstm",
    "gru",
    "birnn",
    "bilstm",
    "bigru",
    "rnn_cell",
    "lstm_cell",
    "gru_cell",
    "lstm_peephole",
    "lstm_cifg",
    "transformer",
    "mingru",
    "minlstm",
    "bimingru",
    "biminlstm",
)


# --- one definition -------------------------------------------------------------------


def test_the_schema_enum_equals_the_registry() -> None:
    written = yaml.safe_load(Path(SCHEMA_PATH).read_text(encoding="utf-8"))
    assert tuple(written["$defs"]["arch"]["enum"]) == registry.names() == BUILT_IN


def test_names_spec_keys_and_defaults_derive_from_the_registry() -> None:
    assert registry.names() == ARCHITECTURES
    assert set(RECURRENT) == set(RECURRENT_ARCHS) == set(registry.recurrent_names())
    assert "transformer" not in RECURRENT and "mingru" in RECURRENT
    assert registry.model_keys() == MODEL_KEYS
    assert not set(MODEL_KEYS) & set(TRAINING_DEFAULTS)
    for name in BUILT_IN:
        config = registry.resolve(name, {})
        assert type(config) is registry.get(name).config  # defaults alone are valid


def test_summary_has_an_option_for_every_model_key() -> None:
    parser = build_parser(["summary"])
    summary = parser._subparsers._group_actions[0].choices["summary"]  # type: ignore[union-attr]
    options = {opt for action in summary._actions for opt in action.option_strings}
    assert {f"--{key.replace('_', '-')}" for key in MODEL_KEYS} <= options


def test_a_key_of_another_arch_is_checked_but_unused() -> None:
    """A grid's hparams reach every arch: conv_kernel is fine for an LSTM, and checked."""
    assert registry.resolve("lstm", {"conv_kernel": 3, "heads": 2}) == registry.resolve("lstm", {})
    with pytest.raises(registry.ModelConfigError, match="'conv_kernel'") as info:
        registry.resolve("lstm", {"conv_kernel": 0})
    assert info.value.key == "conv_kernel"


def test_the_registry_imports_no_torch() -> None:
    import subprocess
    import sys

    code = (
        "import sys, rnnbench.registry, rnnbench.names, rnnbench.config;"
        "rnnbench.registry.resolve('transformer', {'heads': 2});"
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=os.environ.copy())


# --- adding an architecture: one module + one registry line -----------------------------

DUMMY_MODULE = '''
"""A pure-torch architecture: a learned projection, then the masked mean (or per token)."""

from dataclasses import dataclass

from torch import nn

from rnnbench import registry
from rnnbench.cli import build_parser


@dataclass(frozen=True)
class MeanPoolConfig(registry.ModelConfig):
    width: int = registry.integer(4, 1, "projection width")


class MeanPool(nn.Module):
    def __init__(self, dim, width, per_token):
        super().__init__()
        self.proj = nn.Linear(dim, width)
        self.per_token = per_token
        self.out_features = width

    def forward(self, h, lengths):
        y = self.proj(h)
        if self.per_token:
            return y
        real = (lengths[:, None] > __import__("torch").arange(h.shape[1]))[..., None]
        return (y * real).sum(1) / lengths[:, None]


def build(name, meta, dim, cfg):
    return MeanPool(dim, cfg.width, meta.task == "ner")


registry.register(registry.Arch("{name}", MeanPoolConfig, build))
'''


def test_a_registered_arch_builds_and_is_checked_in_process() -> None:
    namespace: dict[str, Any] = {}
    try:
        exec(DUMMY_MODULE.replace("{name}", "meanpool_inproc"), namespace)
        meta = make_meta(task="memory")
        model = build_model("meanpool_inproc", meta, {"width": 3, "head_hidden": 0})
        assert model(torch.randn(2, meta.length), torch.tensor([10, 4])).shape == (2,)
        assert "width" in registry.model_keys()
        with pytest.raises(registry.ModelConfigError, match="'width'"):
            registry.resolve("meanpool_inproc", {"width": 0})
    finally:
        registry.unregister("meanpool_inproc")
    assert "meanpool_inproc" not in registry.names()


@pytest.mark.slow
def test_an_arch_from_an_extra_module_trains_in_a_grid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RNNBENCH_ARCH_MODULES names the module; the schema, the parse-time checks, the spec
    and the training job all see its arch and its new hparam."""
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "dummy_meanpool.py").write_text(DUMMY_MODULE.replace("{name}", "meanpool"))
    monkeypatch.setenv("PYTHONPATH", f"{extra}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    monkeypatch.setenv(registry.EXTRA_MODULES_ENV, "dummy_meanpool")
    work = tmp_path / "work"
    work.mkdir()
    write_memory_grid(
        work,
        ["meanpool", "mingru"],
        ["adam"],
        samples=(64, 16, 16),
        hparams={"epochs": 1, "batch_size": 32, "hidden": 4, "head_hidden": 0},
        per_arch={"meanpool": {"width": 3}},
    )
    target = "results/runs/mem/meanpool/adam/len12/seed0/metrics.json"
    result = run_snakemake(work, "--cores", "2", target)
    assert result.returncode == 0, result.stdout + result.stderr
    metrics = yaml.safe_load((work / target).read_text())
    assert metrics["status"] == "ok" and metrics["hparams"]["width"] == 3
    # Its own hparam is validated at parse time, by its own config.
    config = yaml.safe_load((work / "config.yaml").read_text())
    config["datasets"]["mem"]["grid"]["per_arch"]["meanpool"]["width"] = 0
    (work / "config.yaml").write_text(yaml.safe_dump(config))
    result = run_snakemake(work, "-n")
    assert result.returncode != 0
    assert "model hparam 'width' must be an integer >= 1, got 0" in result.stdout + result.stderr


# --- model hyperparameter faults fail at `snakemake -n`, naming the key -----------------

MODEL_FAULTS = [
    ({"hidden": 0}, "hidden", "model hparam 'hidden' must be an integer >= 1, got 0"),
    ({"layers": 0}, "layers", "model hparam 'layers' must be an integer >= 1, got 0"),
    ({"dropout": 1.5}, "dropout", "model hparam 'dropout' must be a number in [0, 1), got 1.5"),
    ({"init": "xavier"}, "init", "model hparam 'init' must be one of keras, torch, got 'xavier'"),
    (
        {"head_hidden": -1},
        "head_hidden",
        "model hparam 'head_hidden' must be an integer >= 0, got -1",
    ),
    ({"hidden": 8.5}, "hidden", "model hparam 'hidden' must be an integer >= 1, got 8.5"),
    ({"hiden": 8}, None, "unknown hparam(s) ['hiden']"),
    ({"heads": 3}, "heads", "model hparam 'heads' (3) must divide 'hidden' (8)"),
]
FAULT_IDS = ["hidden-0", "layers-0", "dropout-1.5", "init-xavier", "head_hidden-neg", "hidden-8.5"]
FAULT_IDS += ["unknown-key", "heads-not-dividing"]


def memory_config(hparams: dict[str, Any]) -> dict[str, Any]:
    grid = {"archs": ["lstm", "transformer"], "optimizers": ["adam"], "lengths": [12]}
    base = {"epochs": 1, "batch_size": 32, "hidden": 8, "heads": 2}
    return memory_grid_config(grid, {"train": 64, "validation": 16, "test": 16}, base | hparams)


@pytest.mark.fault
@pytest.mark.parametrize(("hparams", "key", "message"), MODEL_FAULTS, ids=FAULT_IDS)
def test_a_bad_model_hparam_fails_at_parse_time_naming_the_key(
    hparams: dict, key: str | None, message: str
) -> None:
    config = memory_config(hparams)
    with pytest.raises(ConfigError) as info:
        validate_config(config, SCHEMA_PATH)
        validate_grids(config)
    text = str(info.value)
    assert text.startswith("datasets.mem.grid (arch ") and message in text, text
    if key is not None:
        assert f"(set at datasets.mem.grid.hparams.{key})" in text


@pytest.mark.fault
def test_a_bad_per_arch_hparam_names_where_it_is_set() -> None:
    config = memory_config({})
    config["datasets"]["mem"]["grid"]["per_arch"] = {"transformer": {"pooling": "max"}}
    with pytest.raises(ConfigError, match=r"'pooling' must be one of mean, cls, got 'max'") as i:
        validate_config(config, SCHEMA_PATH)
        validate_grids(config)
    assert "(set at datasets.mem.grid.per_arch.transformer.pooling)" in str(i.value)


@pytest.mark.fault
@pytest.mark.slow
@pytest.mark.parametrize(("hparams", "key", "message"), MODEL_FAULTS[:7], ids=FAULT_IDS[:7])
def test_a_bad_model_hparam_fails_at_snakemake_dry_run(
    tmp_path: Path, hparams: dict, key: str | None, message: str
) -> None:
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(memory_config(hparams)))
    result = run_snakemake(tmp_path, "-n")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert message in output, output
    assert "Job stats" not in output and not (tmp_path / "results").exists()


# --- code inputs, and the modern preset's tiny version ----------------------------------


@pytest.mark.slow
def test_tiny_modern_grid_trains_and_touching_the_kernels_reruns_it(tmp_path: Path) -> None:
    """presets/modern.yaml's archs on the memory task at tiny sizes; then a touched
    models/native/kernels.cpp (compiled at run time) makes every training job rerun."""
    modern = yaml.safe_load((REPO_ROOT / "presets" / "modern.yaml").read_text())
    archs = modern["datasets"]["memory_modern"]["grid"]["archs"]
    assert {"lstm", "bilstm", "transformer", "mingru"} <= set(archs)
    hparams = dict(modern["datasets"]["memory_modern"]["grid"]["hparams"])
    hparams.update(epochs=1, hidden=8, heads=2, ff_hidden=16, patience=None)
    snakefile = copy_workflow(tmp_path / "repo")
    work = tmp_path / "work"
    work.mkdir()
    write_memory_grid(work, archs, ["adam"], samples=(64, 16, 16), hparams=hparams)
    targets = [f"results/runs/mem/{arch}/adam/len12/seed0/metrics.json" for arch in archs]

    def snakemake(*args: str) -> str:
        import subprocess
        import sys

        command = [sys.executable, "-m", "snakemake", "-s", str(snakefile), "-d", str(work)]
        result = subprocess.run([*command, *args], capture_output=True, text=True, timeout=900)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout + result.stderr

    snakemake("--cores", "2", *targets)
    for target in targets:
        metrics = yaml.safe_load((work / target).read_text())
        assert metrics["status"] == "ok", target
    assert "Nothing to be done" in snakemake("-n", *targets)
    # An edit, not a bare touch: Snakemake skips an input whose mtime changed but whose
    # checksum did not.
    kernels = tmp_path / "repo/src/rnnbench/models/native/kernels.cpp"
    kernels.write_text(kernels.read_text() + "// edited\n")
    planned = snakemake("-n", *targets)
    assert re.search(rf"^train\s+{len(archs)}$", planned, re.MULTILINE), planned
