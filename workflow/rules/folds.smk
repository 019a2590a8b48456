# k-fold cross-validation (split.folds: k) of a corpus without a test split. Each fold is
# prepared on its own under results/prepared/<dataset>/fold<i>/ (fold i is the test set,
# validation is carved from the rest; tokens; a vocabulary built on that fold's training
# part only, so no test text of the fold leaks into it; arrays), and every grid cell runs
# once per fold and seed: results/runs/<dataset>/<arch>/<optimizer>/len<L>/fold<i>/seed<S>/.
# The fold is in the cell's spec, hence in metrics.json and runs.csv; the comparison table,
# the baselines and the figures pool the folds as they pool seeds (n = folds x seeds).
# Datasets without `folds` never reach these rules: their paths, params and commands are
# those of the other rule files.


localrules:
    baselines_folds,


rule split_fold:
    input:
        unpack(lambda w: fetched_sources(w.dataset)),
        code=package_code("data/readers.py", "data/splitting.py"),
    output:
        expand(f"{FOLD_EXPAND}/split/{{split}}.jsonl", split=SPLITS),
    log:
        "logs/prepare/{dataset}/fold{fold}/split.log",
    wildcard_constraints:
        dataset=one_of(FOLD_DATASETS),
    conda:
        ENV
    resources:
        mem_mb=lambda wildcards, attempt: 3000 * attempt,
    params:
        dataset_config=dataset_config("format", "options", "split"),
        sources=lambda w: " ".join(
            f"--source {key}={path}"
            for key, path in fetched_sources(w.dataset).items()
        ),
    shell:
        "rnnbench split --dataset {wildcards.dataset} --dataset-config {params.dataset_config:q}"
        " {params.sources} --fold {wildcards.fold}"
        " --out-dir results/prepared/{wildcards.dataset}/fold{wildcards.fold}/split"
        " > {log:q} 2>&1"


use rule tokenize as tokenize_fold with:
    input:
        split=f"{FOLD_PREPARED}/split/{{split}}.jsonl",
        code=package_code("data/tokenize.py"),
    output:
        f"{FOLD_PREPARED}/tokens/{{split}}.jsonl",
    log:
        "logs/prepare/{dataset}/fold{fold}/tokenize-{split}.log",


rule vocab_fold:
    input:
        tokens=expand(f"{FOLD_EXPAND}/tokens/{{split}}.jsonl", split=SPLITS),
        code=package_code("data/vocab.py"),
    output:
        f"{FOLD_PREPARED}/vocab.json",
    log:
        "logs/prepare/{dataset}/fold{fold}/vocab.log",
    conda:
        ENV
    resources:
        mem_mb=lambda wildcards, attempt: 2000 * attempt,
    params:
        dataset_config=dataset_config("vocab"),
        tokens_dir=fold_tokens,
    shell:
        "rnnbench vocab --dataset-config {params.dataset_config:q}"
        " --tokens-dir {params.tokens_dir:q} --out {output:q} > {log:q} 2>&1"


rule encode_fold:
    input:
        tokens=expand(f"{FOLD_EXPAND}/tokens/{{split}}.jsonl", split=SPLITS),
        vocab=f"{FOLD_PREPARED}/vocab.json",
        code=package_code("data/encode.py", "data/arrays.py"),
    output:
        f"{FOLD_PREPARED}/len{{length}}.npz",
    log:
        "logs/prepare/{dataset}/fold{fold}/encode-len{length}.log",
    wildcard_constraints:
        dataset=one_of(FOLD_DATASETS),
    conda:
        ENV
    resources:
        mem_mb=lambda wildcards, attempt: 3000 * attempt,
    params:
        dataset_config=dataset_config("padding", "truncating"),
        tokens_dir=fold_tokens,
        # A guard, as in rule encode (a "derived" param: raising it reruns nothing).
        budget=lambda wildcards, resources: config["memory_budget_gib"],
    shell:
        "rnnbench encode --dataset {wildcards.dataset} --dataset-config {params.dataset_config:q}"
        " --tokens-dir {params.tokens_dir:q} --vocab {input.vocab:q}"
        " --length {wildcards.length} --memory-budget-gib {params.budget}"
        " --out {output:q} > {log:q} 2>&1"


# The dataset's data card is that of fold 0 (the folds differ only in which part is test);
# it says so under `cross_validation`.
use rule datacard as datacard_folds with:
    input:
        split=expand(
            "results/prepared/{{dataset}}/fold0/split/{split}.jsonl", split=SPLITS
        ),
        tokens=expand(
            "results/prepared/{{dataset}}/fold0/tokens/{split}.jsonl", split=SPLITS
        ),
        vocab="results/prepared/{dataset}/fold0/vocab.json",
        code=package_code("data/datacard.py"),
    wildcard_constraints:
        dataset=one_of(FOLD_DATASETS),
    params:
        dataset_config=dataset_config(
            "format",
            "url",
            "splits",
            "text",
            "synthetic",
            "split",
            optional=("classes", "checks"),
        ),
        dirs=lambda w: (
            f"--split-dir results/prepared/{w.dataset}/fold0/split"
            f" --tokens-dir results/prepared/{w.dataset}/fold0/tokens"
            f" --vocab results/prepared/{w.dataset}/fold0/vocab.json --fold 0"
        ),


ruleorder: datacard_folds > datacard


use rule train as train_fold with:
    input:
        results_intact,
        data=f"{FOLD_PREPARED}/len{{length}}.npz",
        code=train_code(),
    output:
        metrics=f"{FOLD_RUN_DIR}/metrics.json",
        history=report(
            f"{FOLD_RUN_DIR}/history.csv",
            caption="../../reports/captions/history.rst",
            category="{dataset}",
            subcategory="Runs",
            labels={
                "architecture": "{arch}",
                "optimizer": "{optimizer}",
                "length": "{length}",
                "fold": "{fold}",
                "seed": "{seed}",
            },
        ),
        model=f"{FOLD_RUN_DIR}/model.pt",
    log:
        "logs/train/{dataset}/{arch}/{optimizer}/len{length}/fold{fold}/seed{seed}.log",
    benchmark:
        "benchmarks/train/{dataset}/{arch}/{optimizer}/len{length}/fold{fold}/seed{seed}.tsv"
    params:
        spec=fold_train_spec,
        out_dir=lambda wildcards, output: os.path.dirname(output.metrics),


# Baselines per fold (on that fold's rows), then their mean over the folds: the
# comparison table's baseline rows pool the folds as its model rows do.
use rule baselines as baselines_fold with:
    input:
        tokens=expand(f"{FOLD_EXPAND}/tokens/{{split}}.jsonl", split=SPLITS),
        vocab=f"{FOLD_PREPARED}/vocab.json",
        code=package_code("analysis/baselines.py", "train/metrics.py", "data/arrays.py"),
    output:
        "results/baselines/{dataset}/fold{fold}.json",
    log:
        "logs/analysis/{dataset}/baselines-fold{fold}.log",
    params:
        task=lambda wildcards: DATASETS[wildcards.dataset]["task"],
        data=fold_baseline_args,


rule baselines_folds:
    input:
        folds=lambda w: [
            f"results/baselines/{w.dataset}/fold{fold}.json"
            for fold in range(folds_of(DATASETS[w.dataset]))
        ],
        code=package_code("analysis/baselines.py"),
    output:
        "results/baselines/{dataset}.json",
    log:
        "logs/analysis/{dataset}/baselines-folds.log",
    wildcard_constraints:
        dataset=one_of(FOLD_DATASETS),
    conda:
        ENV
    shell:
        "rnnbench baselines-merge --folds {input.folds:q} --out {output:q} > {log:q} 2>&1"


ruleorder: baselines_folds > baselines
