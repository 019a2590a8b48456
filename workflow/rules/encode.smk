# Stage 5: one padded int32 array set per (dataset, length); the memory task is generated
# straight into the same format. Both rules write results/prepared/<dataset>/len<L>.npz,
# told apart by wildcard constraints on the dataset's task.


rule encode:
    input:
        tokens=expand(paths.tokens_file(in_expand(PREPARED), "{split}"), split=SPLITS),
        vocab=paths.vocab_file(PREPARED),
        code=code("encode"),
    output:
        paths.encoded_file(PREPARED, "{length}"),
    log:
        "logs/prepare/{dataset}/encode-len{length}.log",
    wildcard_constraints:
        dataset=one_of(TEXT_DATASETS),
    conda:
        ENV
    resources:
        mem_mb=lambda wildcards, attempt: 3000 * attempt,
    params:
        dataset_config=dataset_config("padding", "truncating"),
        tokens_dir=input_dir("tokens"),
        # A guard: it decides whether the job may run, never what it writes. A function
        # of `resources` is a "derived" param, which Snakemake's params rerun trigger
        # leaves out, so raising memory_budget_gib reruns nothing.
        budget=lambda wildcards, resources: config["memory_budget_gib"],
    shell:
        "rnnbench encode --dataset {wildcards.dataset} --dataset-config {params.dataset_config:q}"
        " --tokens-dir {params.tokens_dir:q} --vocab {input.vocab:q}"
        " --length {wildcards.length} --memory-budget-gib {params.budget}"
        " --out {output:q}"
        " > {log:q} 2>&1 || {{ tail -n 8 {log:q} >&2; exit 1; }}"


rule synthesize:
    input:
        code=code("synthesize"),
    output:
        paths.encoded_file(PREPARED, "{length}"),
    log:
        "logs/prepare/{dataset}/synthesize-len{length}.log",
    wildcard_constraints:
        dataset=one_of(MEMORY_DATASETS),
    conda:
        ENV
    params:
        dataset_config=dataset_config("synthetic"),
    shell:
        "rnnbench synthesize --dataset {wildcards.dataset}"
        " --dataset-config {params.dataset_config:q} --length {wildcards.length}"
        " --out {output:q}"
        " > {log:q} 2>&1 || {{ tail -n 8 {log:q} >&2; exit 1; }}"
