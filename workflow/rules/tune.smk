# Learning-rate tuning (a dataset's grid.tune; rnnbench.tuning): one trial job per tuned
# arch x optimizer x length x candidate lr on the tuning seed, the same command as rule
# train; one selection job per tuned arch x optimizer x length (validation only); the
# grid's seeds of a tuned cell read the selected lr (rule train: --lr-from).


rule tune_trial:
    input:
        data="results/prepared/{dataset}/len{length}.npz",
        code=train_code(),
    output:
        metrics=f"{TRIAL_DIR}/metrics.json",
        history=f"{TRIAL_DIR}/history.csv",
        model=f"{TRIAL_DIR}/model.pt",
    log:
        "logs/tune/{dataset}/{arch}/{optimizer}/len{length}/lr{lr}.log",
    benchmark:
        "benchmarks/tune/{dataset}/{arch}/{optimizer}/len{length}/lr{lr}.tsv"
    conda:
        ENV
    threads: config["threads"]
    resources:
        mem_mb=lambda wildcards, attempt: 3000 * attempt,
        runtime=lambda wildcards, attempt: 120 * attempt,
        cpus_per_task=lambda wildcards, threads: threads,
    params:
        spec=trial_spec_json,
        out_dir=lambda wildcards, output: os.path.dirname(output.metrics),
    shell:
        "rnnbench train --data {input.data:q} --out {params.out_dir:q}"
        " --spec {params.spec:q} --threads {threads} > {log:q} 2>&1"


rule tune_select:
    input:
        trials=tune_trial_metrics,
        code=package_code("tuning.py"),
    output:
        SELECTED,
    log:
        "logs/tune/{dataset}/{arch}/{optimizer}/len{length}/select.log",
    conda:
        ENV
    shell:
        "rnnbench tune-select --metrics {input.trials:q} --out {output:q} > {log:q} 2>&1"


rule lr_figure:
    input:
        selected=tuned_selections,
        code=package_code("analysis/lr_figure.py"),
    output:
        report(
            f"results/summary/{{dataset}}/plots/{LR_FIGURE}.svg",
            caption="../../reports/captions/lr_sensitivity.rst",
            category="{dataset}",
            subcategory="Figures",
            labels={"figure": LR_FIGURE},
        ),
    log:
        "logs/analysis/{dataset}/plot-lr-sensitivity.log",
    conda:
        ENV
    shell:
        "rnnbench lr-figure --selected {input.selected:q} --dataset {wildcards.dataset}"
        " --out {output:q} > {log:q} 2>&1"
