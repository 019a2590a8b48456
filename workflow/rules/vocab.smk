# Stage 4: the token vocabulary (train split only) and the label/tag set, as JSON.


rule vocab:
    input:
        tokens=expand(paths.tokens_file(in_expand(PREPARED), "{split}"), split=SPLITS),
        code=code("vocab"),
    output:
        paths.vocab_file(PREPARED),
    log:
        "logs/prepare/{dataset}/vocab.log",
    conda:
        ENV
    resources:
        mem_mb=lambda wildcards, attempt: 2000 * attempt,
    params:
        dataset_config=dataset_config("vocab"),
        tokens_dir=input_dir("tokens"),
    shell:
        "rnnbench vocab --dataset-config {params.dataset_config:q}"
        " --tokens-dir {params.tokens_dir:q} --out {output:q}"
        " > {log:q} 2>&1 || {{ tail -n 8 {log:q} >&2; exit 1; }}"
