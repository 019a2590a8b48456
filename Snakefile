# rnnbench: which sequence model, which optimizer, at which sequence length?
# Entry point: validates config.yaml (+ any --configfile overlays) and includes one rule
# file per stage. See README.md for the data flow and workflow/schemas for every key.


configfile: "config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/fetch.smk"
include: "workflow/rules/split.smk"
include: "workflow/rules/tokenize.smk"
include: "workflow/rules/vocab.smk"
include: "workflow/rules/encode.smk"
include: "workflow/rules/datacard.smk"


localrules:
    all,
    prepare,


rule all:
    input:
        final_targets(config["target"]),
    default_target: True


rule prepare:
    input:
        prepared_targets(),
