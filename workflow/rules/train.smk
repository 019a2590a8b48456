# The grid: one job per dataset x arch x optimizer x length x seed (rnnbench.train).
# The cell's resolved hyperparameters are its params, so editing one reruns exactly the
# cells it reaches; the code `rnnbench train` runs is an input, so a code change reruns all.
# A killed job leaves checkpoint.pt (not an output, so Snakemake keeps it) and the rerun
# (--rerun-incomplete) resumes from it.
# A cell depends on the content of its encoded arrays, not on how they were configured:
# knobs that cannot change them (memory_budget_gib, text.batch_size, a pinned sha256, the
# spelling of a local url) are in no upstream stage's params, so editing them schedules no
# data job and no cell; a newer .npz with the recorded checksum is no change either
# (Snakemake compares input checksums up to --max-checksum-file-size, 1 MB by default).
# A cell whose lr grid.tune selects (tune.smk) has its selected.json as an input, named in
# its spec ({"lr": {"tuned": path}}). The paths are rnnbench.experiment.paths' templates.


rule train:
    input:
        results_intact,
        data=paths.encoded_file(PREPARED, "{length}"),
        code=code("train"),
        lr_selection=train_lr_selection,
    output:
        **run_outputs(RUN_DIR, cell_labels(RUN_KEYS)),
    log:
        cell_template("logs/train", RUN_KEYS, ".log"),
    benchmark:
        cell_template("benchmarks/train", RUN_KEYS, ".tsv")
    conda:
        TRAIN_ENV
    threads: config["threads"]
    resources:
        mem_mb=lambda wildcards, attempt: TRAIN_MEM_MB * attempt,
        runtime=lambda wildcards, attempt: 120 * attempt,
        # On a cluster, the job's CPUs (sbatch --cpus-per-task) are the torch threads.
        cpus_per_task=lambda wildcards, threads: threads,
    params:
        spec=train_spec,
        out_dir=output_dir,
    shell:
        "rnnbench train --data {input.data:q} --out {params.out_dir:q}"
        " --spec {params.spec:q} --threads {threads} > {log:q} 2>&1"


# A cell of a grid with grid.train_sizes: the same job, its run directory one segment
# deeper (.../len<L>/n<size>/seed<S>/); the size is in its spec, so the job takes that
# many rows of the training split (data.arrays.train_size_rows).
use rule train as train_sized with:
    output:
        **run_outputs(SIZED_RUN_DIR, cell_labels(SIZED_KEYS)),
    log:
        cell_template("logs/train", SIZED_KEYS, ".log"),
    benchmark:
        cell_template("benchmarks/train", SIZED_KEYS, ".tsv")
    wildcard_constraints:
        dataset=one_of(SIZED_DATASETS),
