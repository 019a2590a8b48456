# rnnbench: which sequence model, which optimizer, at which sequence length?
# Entry point: validates config.yaml (+ any --configfile overlays) and includes one rule
# file per stage. Data flow: docs/architecture.md; every key: workflow/schemas/.

import rnnbench.analysis.rulegraph
import rnnbench.slurm_batches


configfile: "config.yaml"


report: "reports/workflow.rst"


# One node per rule in the report's rule graph (see rnnbench.analysis.rulegraph).
rnnbench.analysis.rulegraph.install()
# Slurm: a batch's train_slots cells side by side (the plugin runs them one by one).
rnnbench.slurm_batches.install()


include: "workflow/rules/common.smk"


wildcard_constraints:
    **GRID_WILDCARDS,
    dataset=one_of(DATASETS),
    split=one_of(SPLITS),
    source=one_of(SOURCE_KEYS),
    kind=one_of(PLOT_KINDS),
    lr=LR_WILDCARD,


include: "workflow/rules/fetch.smk"
include: "workflow/rules/split.smk"
include: "workflow/rules/tokenize.smk"
include: "workflow/rules/vocab.smk"
include: "workflow/rules/encode.smk"
include: "workflow/rules/datacard.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/tune.smk"
include: "workflow/rules/analysis.smk"
include: "workflow/rules/folds.smk"
include: "workflow/rules/export.smk"
include: "workflow/rules/terminal.smk"


localrules:
    all,
    prepare,
    aggregate,
    compare,
    plot,
    datacard_report,
    published,
    tune_select,
    lr_figure,
    summarize,
    summarize_all,
    collect_all,
    compare_all,


rule all:
    default_target: True
    input:
        final_targets(config["target"]),


rule prepare:
    input:
        prepared_targets(),
