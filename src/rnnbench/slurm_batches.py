"""Slurm: the training cells of one batch side by side, as ``train_slots`` asks.

The Slurm profile (slurm/config.yaml) puts training cells into batches (the group
``train_cells``) and lets ``resources: train_slots: K`` run K cells of a batch at once:
Snakemake then asks Slurm for K cells' CPUs and memory (and one GPU with ``gres``).
snakemake-executor-plugin-slurm (2.8.0, the newest; its issue #469, open) runs a batch
one cell after another anyway, for two reasons, both found by the CI's Slurm proof
(.ci/slurm-proof.sh): the Snakemake it starts inside the job gets ``--jobs 1``, and each
cell then runs as an ``srun`` step that asks for *all* of the job's memory (srun reads
the job's SLURM_MEM_PER_NODE), so a second step waits for the first to end.

:func:`install` (called by the Snakefile) wraps the plugin's job command for batches
with more than one slot: ``--jobs K`` inside the job, and each step its own share of
the job's memory (SLURM_MEM_PER_CPU = the job's memory / its CPUs, so a cell of
``threads`` CPUs gets its ``mem_mb``). Slurm still gives each step its own CPUs (as
the plugin asks: ``--cpus-per-task``). Batches of one slot (the default) run unchanged.
The proof checks the result on a real cluster: 4 cells of one job overlap in time.
"""

from __future__ import annotations

from typing import Any

# What the plugin's job command says about its inner Snakemake (its additional_general_args).
ONE_JOB_INSIDE = "--executor slurm-jobstep --jobs 1"


def side_by_side(command: str, slots: int, cpus: Any) -> str:
    """The plugin's job ``command`` for a batch of ``slots`` cells side by side on the
    job's ``cpus`` CPUs; unchanged for one slot."""
    if slots <= 1:
        return command
    if ONE_JOB_INSIDE not in command:
        raise RuntimeError(
            f"snakemake-executor-plugin-slurm's job command no longer contains"
            f" {ONE_JOB_INSIDE!r}: rnnbench.slurm_batches cannot run a batch's"
            f" {slots} train_slots side by side; check the plugin's issue #469"
        )
    return command.replace(ONE_JOB_INSIDE, f"--executor local --cores {int(cpus)}")


def install() -> None:
    """Wrap the Slurm plugin's job command (:func:`side_by_side`) for group jobs; a
    no-op without the plugin, and when called twice."""
    try:
        from snakemake_executor_plugin_slurm import Executor
    except ImportError:
        return
    if getattr(Executor, "_rnnbench_side_by_side", False):
        return
    plain = Executor.format_job_exec

    def format_job_exec(self, job) -> str:
        command = plain(self, job)
        if not job.is_group():
            return command
        resources = job.resources
        slots = resources.get("train_slots") or 1
        return side_by_side(command, int(slots), resources.get("cpus_per_task") or job.threads)

    Executor.format_job_exec = format_job_exec
    Executor._rnnbench_side_by_side = True
