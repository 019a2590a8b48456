# After training: baselines on the models' examples, runs.csv, per-dataset comparison tables
# and figures, each registered for `snakemake --report` (rnnbench.analysis).


rule baselines:
    input:
        unpack(baseline_input),
        code=package_code("analysis/baselines.py", "train/metrics.py", "data/arrays.py"),
    output:
        "results/baselines/{dataset}.json",
    log:
        "logs/analysis/{dataset}/baselines.log",
    conda:
        ENV
    resources:
        mem_mb=lambda wildcards, attempt: 4000 * attempt,
    params:
        task=lambda wildcards: DATASETS[wildcards.dataset]["task"],
        data=baseline_args,
    shell:
        "rnnbench baselines --dataset {wildcards.dataset} --task {params.task} {params.data}"
        " --out {output:q} > {log:q} 2>&1"


rule aggregate:
    input:
        metrics=run_targets(),
        code=package_code("analysis/collect.py", "analysis/sanity.py"),
    output:
        report(
            "results/summary/runs.csv",
            caption="../../reports/captions/runs.rst",
            category="Summary",
            labels={"table": "every run (CSV)"},
        ),
    log:
        "logs/analysis/aggregate.log",
    conda:
        ENV
    shell:
        "rnnbench aggregate --metrics {input.metrics:q} --out {output:q} > {log:q} 2>&1"


rule compare:
    input:
        runs="results/summary/runs.csv",
        baselines="results/baselines/{dataset}.json",
        code=package_code("analysis/compare.py", "analysis/stats.py"),
    output:
        csv=report(
            "results/summary/{dataset}/comparison.csv",
            caption="../../reports/captions/comparison.rst",
            category="{dataset}",
            subcategory="Comparison",
            labels={"table": "comparison (CSV download)"},
        ),
        html=report(
            "results/summary/{dataset}/comparison.html",
            caption="../../reports/captions/comparison.rst",
            category="{dataset}",
            subcategory="Comparison",
            labels={"table": "comparison"},
        ),
    log:
        "logs/analysis/{dataset}/compare.log",
    conda:
        ENV
    shell:
        "rnnbench compare --runs {input.runs:q} --dataset {wildcards.dataset}"
        " --baselines {input.baselines:q} --csv {output.csv:q} --html {output.html:q}"
        " > {log:q} 2>&1"


rule plot:
    input:
        runs="results/summary/runs.csv",
        code=package_code("analysis/plots.py"),
    output:
        report(
            "results/summary/{dataset}/plots/{kind}.svg",
            caption="../../reports/captions/figure.rst",
            category="{dataset}",
            subcategory="Figures",
            labels={"figure": "{kind}"},
        ),
    log:
        "logs/analysis/{dataset}/plot-{kind}.log",
    conda:
        ENV
    shell:
        "rnnbench plot --runs {input.runs:q} --dataset {wildcards.dataset} --kind {wildcards.kind}"
        " --out {output:q} > {log:q} 2>&1"


rule datacard_report:
    input:
        "results/prepared/{dataset}/datacard.json",
    output:
        report(
            "results/summary/{dataset}/datacard.html",
            caption="../../reports/captions/datacard.rst",
            category="{dataset}",
            subcategory="Data",
            labels={"table": "data card"},
        ),
    log:
        "logs/analysis/{dataset}/datacard-report.log",
    conda:
        ENV
    shell:
        "rnnbench datacard-html --card {input:q} --out {output:q} > {log:q} 2>&1"


rule published:
    input:
        runs="results/summary/runs.csv",
        code=package_code("analysis/published.py", "analysis/stats.py"),
    output:
        csv=report(
            "results/summary/published.csv",
            caption="../../reports/captions/published.rst",
            category="Published vs measured",
            labels={"table": "published vs measured (CSV download)"},
        ),
        html=report(
            "results/summary/published.html",
            caption="../../reports/captions/published.rst",
            category="Published vs measured",
            labels={"table": "published vs measured"},
        ),
    log:
        "logs/analysis/published.log",
    conda:
        ENV
    params:
        published=json.dumps(config["published"], sort_keys=True),
    shell:
        "rnnbench published --runs {input.runs:q} --config-json {params.published:q}"
        " --csv {output.csv:q} --html {output.html:q} > {log:q} 2>&1"


rule summarize:
    input:
        runs="results/summary/runs.csv",
        baselines=lambda wildcards: [
            f"results/baselines/{name}.json" for name in TRAINED_DATASETS
        ],
        code=package_code(
            "analysis/summary.py",
            "analysis/compare.py",
            "analysis/published.py",
            "analysis/stats.py",
        ),
    output:
        md=report(
            "results/summary/summary.md",
            caption="../../reports/captions/summary.rst",
            category="Summary",
            labels={"table": "summary (Markdown)"},
        ),
        rst="results/summary/summary.rst",
    log:
        "logs/analysis/summarize.log",
    conda:
        ENV
    params:
        datasets=lambda wildcards: " ".join(
            f"--dataset {name}=results/baselines/{name}.json"
            for name in TRAINED_DATASETS
        ),
        published=json.dumps(config.get("published") or [], sort_keys=True),
    shell:
        "rnnbench summarize --runs {input.runs:q} {params.datasets}"
        " --published-json {params.published:q} --md {output.md:q} --rst {output.rst:q}"
        " > {log:q} 2>&1"
