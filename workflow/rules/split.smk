# Stage 2: read a corpus into train/validation/test records (rnnbench.data.readers).


rule split:
    input:
        unpack(lambda w: fetched_sources(w.dataset)),
        code=code("split"),
    output:
        expand(paths.split_file(in_expand(PREPARED), "{split}"), split=SPLITS),
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
        # The fold variant (folds.smk) writes one cross-validation fold's splits.
        fold=lambda w, output: f"--fold {w.fold}" if "fold" in w.keys() else "",
        out_dir=output_dir,
    shell:
        "rnnbench split --dataset {wildcards.dataset} --dataset-config {params.dataset_config:q}"
        " {params.sources} {params.fold} --out-dir {params.out_dir:q}"
        " > {log:q} 2>&1 || {{ tail -n 8 {log:q} >&2; exit 1; }}"
