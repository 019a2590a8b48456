# Stage 6: the data card (examples, label counts, length percentiles, vocabulary, OOV rate).


rule datacard:
    input:
        unpack(datacard_input),
        code=package_code("data/datacard.py"),
    output:
        "results/prepared/{dataset}/datacard.json",
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
        dirs=lambda w: (
            f"--split-dir results/prepared/{w.dataset}/split"
            f" --tokens-dir results/prepared/{w.dataset}/tokens"
            f" --vocab results/prepared/{w.dataset}/vocab.json"
            if DATASETS[w.dataset]["task"] != "memory"
            else "--encoded " + " ".join(encoded_paths(w.dataset))
        ),
    # Its warnings (leakage, entity types train lacks) go to the terminal as well as the
    # log; on failure, the log's end.
    shell:
        "rnnbench datacard --dataset {wildcards.dataset}"
        " --dataset-config {params.dataset_config:q} {params.dirs} --out {output:q}"
        " > {log:q} 2>&1 || {{ tail -n 8 {log:q} >&2; exit 1; }};"
        " grep -h ' WARNING ' {log:q} >&2 || true"
