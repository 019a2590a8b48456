# Learning-rate tuning (a dataset's grid.tune; rnnbench.experiment.tuning): one trial job
# per tuned arch x optimizer x length x candidate lr on the tuning seed, rule train with
# the trial's paths and spec (so in train's environment); one selection job per tuned
# arch x optimizer x length (validation only); the grid's seeds of a tuned cell read the
# selected lr (their spec names the selected.json, an input of their train job).


use rule train as tune_trial with:
    input:
        data=paths.encoded_file(PREPARED, "{length}"),
        code=code("train"),
    output:
        **run_outputs(TRIAL_DIR),
    log:
        TRIAL_LOG,
    benchmark:
        TRIAL_BENCHMARK
    params:
        spec=trial_spec_json,
        out_dir=output_dir,


rule tune_select:
    input:
        trials=tune_trial_metrics,
        code=code("tune-select"),
    output:
        SELECTED,
    log:
        SELECT_LOG,
    conda:
        ENV
    shell:
        "rnnbench tune-select --metrics {input.trials:q} --out {output:q} > {log:q} 2>&1"


rule lr_figure:
    input:
        selected=tuned_selections,
        code=code("lr-figure"),
    output:
        report(
            f"{paths.SUMMARY}/{{dataset}}/plots/{LR_FIGURE}.svg",
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
