"""GPU packing on Slurm: K training cells of a batch share one GPU (issue 18).

The profile (slurm/config.yaml) asks for the GPU as ``gres: "gpu:1"``, a string
resource, when several cells of a batch run side by side (``resources: train_slots: K``):
Snakemake adds integer resources up over a group's concurrent jobs (``gpu: 1`` would ask
for K GPUs) but passes a string resource through once. Checked two ways without Slurm:
Snakemake's own group-resource computation on the train rule's resources, and a dry run
of the profile so edited (``snakemake --profile ... -n``), as the CI's Slurm proof starts.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PROFILE = ROOT / "slurm" / "config.yaml"


def gpu_packing_profile(cells_per_gpu: int, cells_per_job: int) -> dict:
    """slurm/config.yaml with the GPU packing its comments describe."""
    profile = yaml.safe_load(PROFILE.read_text())
    train = profile["set-resources"]["train"]
    train.pop("gpu")
    train["gres"] = "gpu:1"
    profile["resources"]["train_slots"] = cells_per_gpu
    profile["group-components"]["train_cells"] = cells_per_job
    return profile


def test_packed_batch_asks_for_one_gpu_and_k_cells_resources() -> None:
    from snakemake.resources import GroupResources

    k, cells = 4, 8
    profile = gpu_packing_profile(k, cells)
    cell = {
        "mem_mb": 3000,  # the train rule's attempt-1 values
        "runtime": 120,
        "cpus_per_task": 2,
        "_cores": 2,
        **profile["set-resources"]["train"],
    }
    jobs = [SimpleNamespace(resources=dict(cell), pipe_group=None) for _ in range(cells)]
    limits = profile["resources"]
    constraints = SimpleNamespace(get=lambda name: SimpleNamespace(value=limits.get(name)))
    group = GroupResources.basic_layered(
        [jobs], constraints, run_local=False, additive_resources=["runtime"], sortby=["runtime"]
    )
    assert group["gres"] == "gpu:1" and "gpu" not in group  # one GPU for the whole batch
    assert group["train_slots"] == k  # K cells at a time ...
    assert group["cpus_per_task"] == k * 2 and group["mem_mb"] == k * 3000  # ... each its own
    assert group["runtime"] == (cells // k) * 120  # two rounds of four cells
    # What `gpu: 1` would do instead: K GPUs for the same batch.
    for job in jobs:
        job.resources.pop("gres")
        job.resources["gpu"] = 1
    with_gpu = GroupResources.basic_layered(
        [jobs], constraints, run_local=False, additive_resources=["runtime"], sortby=["runtime"]
    )
    assert with_gpu["gpu"] == k


def test_profile_comments_name_the_packing_settings() -> None:
    text = PROFILE.read_text()
    assert 'gres: "gpu:1"' in text and "train_slots" in text
    assert yaml.safe_load(text)["set-resources"]["train"]["gpu"] == 0  # CPU by default


@pytest.mark.slow
def memory_only(tmp_path: Path) -> Path:
    """An overlay that runs only the generated memory task: the plan needs no corpus, so
    these dry runs pass in a clone without ../shared."""
    overlay = tmp_path / "memory-only.yaml"
    overlay.write_text(yaml.safe_dump({"datasets_to_run": ["memory"]}))
    return overlay


def test_gpu_packing_profile_dry_run(tmp_path: Path) -> None:
    pytest.importorskip("snakemake_executor_plugin_slurm")
    profile = tmp_path / "slurm-gpu"
    profile.mkdir()
    (profile / "config.yaml").write_text(yaml.safe_dump(gpu_packing_profile(4, 8)))
    snakemake = Path(sys.executable).with_name("snakemake")
    result = subprocess.run(
        [
            str(snakemake),
            "--profile",
            str(profile),
            "-n",
            "--configfile",
            "tests/shared-data.yaml",
            "tests/ci-slurm.yaml",
            str(memory_only(tmp_path)),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    plan = result.stdout + result.stderr
    assert "Group job train_cells" in plan
    assert "gres=gpu:1, train_slots=1" in plan


def test_cuda_environment_is_the_cpu_one_with_torchs_cuda_build() -> None:
    cpu = yaml.safe_load((ROOT / "envs" / "rnnbench.yaml").read_text())
    cuda = yaml.safe_load((ROOT / "envs" / "rnnbench-cuda.yaml").read_text())
    pip_cpu = next(d["pip"] for d in cpu["dependencies"] if isinstance(d, dict))
    pip_cuda = next(d["pip"] for d in cuda["dependencies"] if isinstance(d, dict))
    assert not any("whl/cpu" in line for line in pip_cuda)
    torch_pin = [line for line in pip_cpu if line.startswith("torch==")]
    assert torch_pin and torch_pin[0] in pip_cuda  # the same torch, its CUDA build
    assert set(pip_cuda) - {torch_pin[0]} == set(pip_cpu) - {torch_pin[0]} - {
        line for line in pip_cpu if "whl/cpu" in line
    }


@pytest.mark.slow
@pytest.mark.parametrize(("value", "ok"), [("cuda", True), ("cpu", True), ("gpu", False)])
def test_conda_env_switch_is_validated(value: str, ok: bool, tmp_path: Path) -> None:
    snakemake = Path(sys.executable).with_name("snakemake")
    overlays = ["tests/shared-data.yaml", "tests/ci-slurm.yaml", str(memory_only(tmp_path))]
    args = ["-n", "--configfile", *overlays]
    result = subprocess.run(
        [str(snakemake), *args, "--config", f"conda_env={value}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert (result.returncode == 0) == ok, result.stdout + result.stderr
    if not ok:
        assert "conda_env" in result.stdout + result.stderr


def _training_environments(tmp_path: Path, conda_env: str) -> dict[str, set[str]]:
    """The environment file of every planned training job (train, tune_trial), by rule:
    what `snakemake --sdm conda` would activate for each (Snakemake's own DAG, dry run;
    the profile does not choose environments, so none is needed here)."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import (
        ConfigSettings,
        DAGSettings,
        OutputSettings,
        Quietness,
        ResourceSettings,
        StorageSettings,
    )

    tuned = tmp_path / "tuned.yaml"  # tuning on: the plan has tune_trial jobs
    tuned.write_text(
        yaml.safe_dump({"datasets": {"memory": {"grid": {"tune": {"lrs": [0.01, 0.003]}}}}})
    )
    overlays = ["config.yaml", "tests/shared-data.yaml", "tests/ci-slurm.yaml"]
    configfiles = [ROOT / name for name in overlays] + [memory_only(tmp_path), tuned]
    with SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
        workflow = api.workflow(
            resource_settings=ResourceSettings(cores=1),
            config_settings=ConfigSettings(
                configfiles=configfiles, config={"conda_env": conda_env}
            ),
            storage_settings=StorageSettings(),
            snakefile=ROOT / "Snakefile",
            workdir=tmp_path,
        )
        workflow.dag(DAGSettings()).execute_workflow(executor="dryrun")
        jobs = workflow._workflow.dag.jobs
        found: dict[str, set[str]] = {}
        for job in jobs:
            if job.rule.name in ("train", "tune_trial"):
                env = Path(str(job.conda_env_spec.file.get_path_or_uri(secret_free=True))).name
                found.setdefault(job.rule.name, set()).add(env)
    return found


@pytest.mark.slow
@pytest.mark.parametrize(
    ("conda_env", "env_file"), [("cuda", "rnnbench-cuda.yaml"), ("cpu", "rnnbench.yaml")]
)
def test_every_training_job_gets_the_chosen_environment(
    conda_env: str, env_file: str, tmp_path: Path
) -> None:
    """`conda_env: cuda` reaches the learning-rate trials as well as the grid's cells, so
    GPU tuning trials run with torch's CUDA build (issue 27)."""
    assert _training_environments(tmp_path, conda_env) == {
        "train": {env_file},
        "tune_trial": {env_file},
    }
