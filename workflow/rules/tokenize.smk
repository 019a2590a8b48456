# Stage 3: tokenize each split once (spaCy or basic_english); padding reuses the result.


rule tokenize:
    input:
        split=paths.split_file(PREPARED, "{split}"),
        code=code("tokenize"),
    output:
        paths.tokens_file(PREPARED, "{split}"),
    log:
        "logs/prepare/{dataset}/tokenize-{split}.log",
    conda:
        ENV
    resources:
        mem_mb=lambda wildcards, attempt: 2000 * attempt,
    params:
        dataset_config=dataset_config("text"),
    shell:
        "rnnbench tokenize --dataset-config {params.dataset_config:q} --input {input.split:q}"
        " --out {output:q}"
        " > {log:q} 2>&1 || {{ tail -n 8 {log:q} >&2; exit 1; }}"
