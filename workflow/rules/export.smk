# Opt-in (config `export: [tensorboard, mlflow]`): the runs in experiment trackers, one
# tracker run per cell, rewritten only where a cell's results changed (rnnbench.trackers).


rule export:
    input:
        runs=paths.RUNS_CSV,
        metrics=run_targets(),
        code=code("export"),
    output:
        "results/export/{tracker}/export.json",
    log:
        "logs/export/{tracker}.log",
    localrule: True
    conda:
        "../../envs/rnnbench-trackers.yaml"
    shell:
        "rnnbench export --to {wildcards.tracker} results/export/{wildcards.tracker}"
        " --runs {input.runs:q} > {log:q} 2>&1"
