# k-fold cross-validation (split.folds: k) of a corpus without a test split. Each fold is
# prepared on its own under results/prepared/<dataset>/fold<i>/ (fold i is the test set,
# validation is carved from the rest; tokens; a vocabulary built on that fold's training
# part only, so no test text of the fold leaks into it; arrays), and every grid cell runs
# once per fold and seed: results/runs/<dataset>/<arch>/<optimizer>/len<L>/fold<i>/seed<S>/.
# The fold is in the cell's spec, hence in metrics.json and runs.csv; the comparison table,
# the baselines and the figures pool the folds as they pool seeds (n = folds x seeds).
# Every rule here is a stage's own rule with the fold's paths (they pass their paths as
# params). Datasets without `folds` never reach these rules.


localrules:
    baselines_folds,


use rule split as split_fold with:
    output:
        expand(paths.split_file(in_expand(FOLD_PREPARED), "{split}"), split=SPLITS),
    log:
        "logs/prepare/{dataset}/fold{fold}/split.log",
    wildcard_constraints:
        dataset=one_of(FOLD_DATASETS),


use rule tokenize as tokenize_fold with:
    input:
        split=paths.split_file(FOLD_PREPARED, "{split}"),
        code=code("tokenize"),
    output:
        paths.tokens_file(FOLD_PREPARED, "{split}"),
    log:
        "logs/prepare/{dataset}/fold{fold}/tokenize-{split}.log",


use rule vocab as vocab_fold with:
    input:
        tokens=expand(
            paths.tokens_file(in_expand(FOLD_PREPARED), "{split}"), split=SPLITS
        ),
        code=code("vocab"),
    output:
        paths.vocab_file(FOLD_PREPARED),
    log:
        "logs/prepare/{dataset}/fold{fold}/vocab.log",


use rule encode as encode_fold with:
    input:
        tokens=expand(
            paths.tokens_file(in_expand(FOLD_PREPARED), "{split}"), split=SPLITS
        ),
        vocab=paths.vocab_file(FOLD_PREPARED),
        code=code("encode"),
    output:
        paths.encoded_file(FOLD_PREPARED, "{length}"),
    log:
        "logs/prepare/{dataset}/fold{fold}/encode-len{length}.log",
    wildcard_constraints:
        dataset=one_of(FOLD_DATASETS),


# The dataset's data card is that of fold 0 (the folds differ only in which part is test);
# it says so under `cross_validation`.
use rule datacard as datacard_folds with:
    input:
        **text_inputs(FOLD0_PREPARED),
        split=[paths.split_file(FOLD0_PREPARED, split) for split in SPLITS],
        code=code("datacard"),
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
        dirs=lambda w, input: f"{datacard_dirs(w, input)} --fold 0",


ruleorder: datacard_folds > datacard


use rule train as train_fold with:
    input:
        results_intact,
        data=paths.encoded_file(FOLD_PREPARED, "{length}"),
        code=code("train"),
    output:
        **run_outputs(FOLD_RUN_DIR, cell_labels(FOLD_KEYS)),
    log:
        cell_template("logs/train", FOLD_KEYS, ".log"),
    benchmark:
        cell_template("benchmarks/train", FOLD_KEYS, ".tsv")


# Baselines per fold (on that fold's rows), then their mean over the folds: the
# comparison table's baseline rows pool the folds as its model rows do.
use rule baselines as baselines_fold with:
    input:
        **text_inputs(FOLD_PREPARED),
        code=code("baselines"),
    output:
        paths.baselines_file("{dataset}", "{fold}"),
    log:
        "logs/analysis/{dataset}/baselines-fold{fold}.log",


rule baselines_folds:
    input:
        folds=lambda w: [
            paths.baselines_file(w.dataset, fold)
            for fold in range(folds_of(DATASETS[w.dataset]))
        ],
        code=code("baselines-merge"),
    output:
        paths.baselines_file("{dataset}"),
    log:
        "logs/analysis/{dataset}/baselines-folds.log",
    wildcard_constraints:
        dataset=one_of(FOLD_DATASETS),
    conda:
        ENV
    shell:
        "rnnbench baselines-merge --folds {input.folds:q} --out {output:q} > {log:q} 2>&1"


ruleorder: baselines_folds > baselines
