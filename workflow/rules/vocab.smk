# Stage 4: the token vocabulary (train split only) and the label/tag set, as JSON.


rule vocab:
    input:
        tokens=expand("results/prepared/{{dataset}}/tokens/{split}.jsonl", split=SPLITS),
        code=package_code("data/vocab.py"),
    output:
        "results/prepared/{dataset}/vocab.json",
    log:
        "logs/prepare/{dataset}/vocab.log",
    conda:
        ENV
    resources:
        mem_mb=lambda wildcards, attempt: 2000 * attempt,
    params:
        dataset_config=dataset_config("vocab"),
    shell:
        "rnnbench vocab --dataset-config {params.dataset_config:q}"
        " --tokens-dir results/prepared/{wildcards.dataset}/tokens --out {output:q} > {log:q} 2>&1"
