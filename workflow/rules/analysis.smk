import glob

# After training: baselines on the models' examples, runs.csv, per-dataset comparison tables
# and figures, each registered for `snakemake --report` (rnnbench.analysis).


rule baselines:
    input:
        unpack(baseline_input),
        code=code("baselines"),
    output:
        paths.baselines_file("{dataset}"),
    log:
        "logs/analysis/{dataset}/baselines.log",
    conda:
        ENV
    resources:
        mem_mb=lambda wildcards, attempt: 4000 * attempt,
    params:
        task=lambda wildcards: DATASETS[wildcards.dataset]["task"],
        options=baseline_options,
        data=baseline_data,
    shell:
        "rnnbench baselines --dataset {wildcards.dataset} --task {params.task} {params.data}"
        " {params.options}"
        " --out {output:q} > {log:q} 2>&1"


rule aggregate:
    input:
        metrics=run_targets(),
        # The sanity gate flags every run of a dataset whose data card finds leakage.
        datacards=lambda wildcards: [
            paths.datacard_file(name) for name in TRAINED_DATASETS
        ],
        code=code("aggregate"),
    output:
        report(
            paths.RUNS_CSV,
            caption="../../reports/captions/runs.rst",
            category="Summary",
            labels={"table": "every run (CSV)"},
        ),
    log:
        "logs/analysis/aggregate.log",
    conda:
        ENV
    shell:
        "rnnbench aggregate --metrics {input.metrics:q} --datacards {input.datacards:q}"
        " --out {output:q} > {log:q} 2>&1"


rule compare:
    input:
        runs=paths.RUNS_CSV,
        baselines=paths.baselines_file("{dataset}"),
        code=code("compare"),
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
        runs=paths.RUNS_CSV,
        code=code("plot"),
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


# The memory task at several training-set sizes (grid.train_sizes): the solved fraction
# per (arch, length, size) and the smallest size that solves each length.
rule solved_by_size:
    input:
        runs=paths.RUNS_CSV,
        code=code("solved-by-size"),
    output:
        csv="results/summary/{dataset}/solved_by_size.csv",
        html=report(
            "results/summary/{dataset}/solved_by_size.html",
            caption="../../reports/captions/solved_by_size.rst",
            category="{dataset}",
            subcategory="Comparison",
            labels={"table": "solved by training-set size"},
        ),
    log:
        "logs/analysis/{dataset}/solved-by-size.log",
    conda:
        ENV
    shell:
        "rnnbench solved-by-size --runs {input.runs:q} --dataset {wildcards.dataset}"
        " --csv {output.csv:q} --html {output.html:q} > {log:q} 2>&1"


rule datacard_report:
    input:
        card=paths.datacard_file("{dataset}"),
        code=code("datacard-html"),
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
        "rnnbench datacard-html --card {input.card:q} --out {output:q} > {log:q} 2>&1"


rule published:
    input:
        runs=paths.RUNS_CSV,
        code=code("published"),
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
        runs=paths.RUNS_CSV,
        baselines=lambda wildcards: [
            paths.baselines_file(name) for name in TRAINED_DATASETS
        ],
        datacards=lambda wildcards: [
            paths.datacard_file(name) for name in TRAINED_DATASETS
        ],
        code=code("summarize"),
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
            f"--dataset {name}={paths.baselines_file(name)}"
            for name in TRAINED_DATASETS
        ),
        published=json.dumps(config.get("published") or [], sort_keys=True),
        datacards=lambda wildcards, input: " ".join(
            f"--datacard {path}" for path in input.datacards
        ),
    shell:
        "rnnbench summarize --runs {input.runs:q} {params.datasets} {params.datacards}"
        " --published-json {params.published:q} --md {output.md:q} --rst {output.rst:q}"
        " > {log:q} 2>&1"


# Every finished experiment in one place, whatever configuration trained it: runs.csv of
# every metrics.json on disk, a comparison table per dataset, published vs measured over
# every config's and preset's published numbers, and the summary (results/summary/all/):
#   snakemake --cores 1 summarize_all
#   snakemake --report reports/all.html summarize_all
# Every run directory layout the grid can produce (rnnbench.experiment.paths), folds too.
ALL_METRICS = sorted(
    path for pattern in paths.run_metrics_globs() for path in glob.glob(pattern)
)
ALL_RUN_DATASETS = sorted({path.split("/")[2] for path in ALL_METRICS})
ALL_DATACARDS = [
    path
    for name in ALL_RUN_DATASETS
    if os.path.exists(path := paths.datacard_file(name))
]


rule summarize_all:
    input:
        "results/summary/all/summary.md",
        "results/summary/all/published.html",
        expand("results/summary/all/{name}/comparison.html", name=ALL_RUN_DATASETS),


rule collect_all:
    input:
        metrics=ALL_METRICS,
        datacards=ALL_DATACARDS,
        configs=["config.yaml", *sorted(glob.glob("presets/*.yaml"))],
        code=code("summarize-all"),
    output:
        runs="results/summary/all/runs.csv",
        summary=report(
            "results/summary/all/summary.md",
            caption="../../reports/captions/summary.rst",
            category="All experiments",
            labels={"table": "summary (Markdown)"},
        ),
        published=report(
            "results/summary/all/published.html",
            caption="../../reports/captions/published.rst",
            category="All experiments",
            labels={"table": "published vs measured, every preset"},
        ),
        published_csv="results/summary/all/published.csv",
    log:
        "logs/analysis/collect-all.log",
    conda:
        ENV
    shell:
        "rnnbench summarize-all --metrics {input.metrics:q} --configs {input.configs:q}"
        " --datacards {input.datacards:q} --out-dir results/summary/all > {log:q} 2>&1"


rule compare_all:
    input:
        runs="results/summary/all/runs.csv",
        code=code("compare"),
    output:
        csv="results/summary/all/{name}/comparison.csv",
        html=report(
            "results/summary/all/{name}/comparison.html",
            caption="../../reports/captions/comparison.rst",
            category="All experiments",
            labels={"table": "comparison: {name}"},
        ),
    log:
        "logs/analysis/all/{name}/compare.log",
    conda:
        ENV
    params:
        baselines=lambda wildcards: (
            f"--baselines results/baselines/{wildcards.name}.json"
            if os.path.exists(f"results/baselines/{wildcards.name}.json")
            else ""
        ),
    shell:
        "rnnbench compare --runs {input.runs:q} --dataset {wildcards.name} {params.baselines}"
        " --csv {output.csv:q} --html {output.html:q} > {log:q} 2>&1"
