# Stage 2: read a corpus into train/validation/test records (rnnbench.data.readers).


rule split:
    input:
        unpack(lambda w: fetched_sources(w.dataset)),
        code=package_code("data/readers.py", "data/splitting.py"),
    output:
        expand("results/prepared/{{dataset}}/split/{split}.jsonl", split=SPLITS),
    log:
        "logs/prepare/{dataset}/split.log",
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
        " {params.sources} --out-dir results/prepared/{wildcards.dataset}/split > {log:q} 2>&1"
