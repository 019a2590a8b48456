# Stage 6: the data card (examples, label counts, length percentiles, vocabulary, OOV rate).


rule datacard:
    input:
        unpack(datacard_input),
        code=code("datacard"),
    output:
        paths.datacard_file("{dataset}"),
    log:
        "logs/prepare/{dataset}/datacard.log",
    conda:
        ENV
    params:
        dataset_config=dataset_config(
            "format",
            "url",
            "splits",
            "text",
            "synthetic",
            optional=("classes", "checks"),
        ),
        dirs=datacard_dirs,
    # Its warnings (leakage, entity types train lacks) go to the terminal as well as the
    # log; on failure, the log's end.
    shell:
        "rnnbench datacard --dataset {wildcards.dataset}"
        " --dataset-config {params.dataset_config:q} {params.dirs} --out {output:q}"
        " > {log:q} 2>&1 || {{ tail -n 8 {log:q} >&2; exit 1; }};"
        " grep -h ' WARNING ' {log:q} >&2 || true"
