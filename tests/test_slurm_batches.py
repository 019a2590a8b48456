"""rnnbench.slurm_batches: a Slurm batch's train_slots cells run side by side (the
plugin alone runs them one by one; .ci/slurm-proof.sh proves the result on a real
cluster)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from rnnbench import slurm_batches

PLUGIN_COMMAND = (
    "/venv/bin/python -m snakemake --snakefile /repo/Snakefile --target-jobs a b c d"
    " --cores all --executor slurm-jobstep --jobs 1 --mode remote"
)


def test_a_batch_of_k_slots_runs_k_cells_on_the_jobs_cpus() -> None:
    command = slurm_batches.side_by_side(PLUGIN_COMMAND, slots=4, cpus=4)
    assert "--jobs 1" not in command and "slurm-jobstep" not in command
    # The last --cores wins: the job's CPUs, so that K cells of its threads fit.
    assert command.endswith("--cores all --executor local --cores 4 --mode remote")


def test_one_slot_keeps_the_plugins_command() -> None:
    assert slurm_batches.side_by_side(PLUGIN_COMMAND, slots=1, cpus=2) == PLUGIN_COMMAND


def test_a_changed_plugin_command_fails_loudly() -> None:
    with pytest.raises(RuntimeError, match="issue #469"):
        slurm_batches.side_by_side("python -m snakemake --jobs 2", slots=4, cpus=4)


def test_install_wraps_the_plugins_group_jobs_only(monkeypatch: pytest.MonkeyPatch) -> None:
    plugin = pytest.importorskip("snakemake_executor_plugin_slurm")
    monkeypatch.setattr(plugin.Executor, "_rnnbench_side_by_side", False, raising=False)
    monkeypatch.setattr(plugin.Executor, "format_job_exec", lambda self, job: PLUGIN_COMMAND)
    slurm_batches.install()
    slurm_batches.install()  # a second call does not wrap twice
    batch = SimpleNamespace(
        is_group=lambda: True, resources={"train_slots": 4, "cpus_per_task": 8}, threads=8
    )
    cell = SimpleNamespace(is_group=lambda: False, resources={"train_slots": 1}, threads=2)
    one_slot = SimpleNamespace(is_group=lambda: True, resources={"train_slots": 1}, threads=2)
    assert "--executor local --cores 8" in plugin.Executor.format_job_exec(None, batch)
    assert plugin.Executor.format_job_exec(None, cell) == PLUGIN_COMMAND
    assert plugin.Executor.format_job_exec(None, one_slot) == PLUGIN_COMMAND
