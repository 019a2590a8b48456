# Stage 6: the data card (examples, label counts, length percentiles, vocabulary, OOV rate).


def datacard_input(wildcards):
    name = wildcards.dataset
    if DATASETS[name]["task"] == "memory":
        return {"encoded": encoded_paths(name)}
    return {
        "split": expand(f"results/prepared/{name}/split/{{split}}.jsonl", split=SPLITS),
        "tokens": expand(f"results/prepared/{name}/tokens/{{split}}.jsonl", split=SPLITS),
        "vocab": f"results/prepared/{name}/vocab.json",
    }


rule datacard:
    input:
        unpack(datacard_input),
        code=package_code("data/datacard.py"),
    output:
        "results/prepared/{dataset}/datacard.json",
    params:
        dataset_config=dataset_config("format", "url", "splits", "text", "synthetic"),
        dirs=lambda w: (
            f"--split-dir results/prepared/{w.dataset}/split"
            f" --tokens-dir results/prepared/{w.dataset}/tokens"
            f" --vocab results/prepared/{w.dataset}/vocab.json"
            if DATASETS[w.dataset]["task"] != "memory"
            else "--encoded " + " ".join(encoded_paths(w.dataset))
        ),
    log:
        "logs/prepare/{dataset}/datacard.log",
    conda:
        ENV
    shell:
        "rnnbench datacard --dataset {wildcards.dataset}"
        " --dataset-config {params.dataset_config:q} {params.dirs} --out {output:q} > {log:q} 2>&1"
