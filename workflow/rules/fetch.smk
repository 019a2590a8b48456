# Stage 1: copy or download each source and verify its sha256 (rnnbench.data.fetch).
# A local rule: compute nodes of a cluster often have no internet.


localrules:
    fetch,


def fetch_source(wildcards):
    return dataset_sources(wildcards.dataset, DATASETS[wildcards.dataset])[wildcards.source]


def fetch_local_input(wildcards):
    """A local source is an input, so Snakemake notices when the file changes."""
    from rnnbench.data.fetch import local_path

    path = local_path(fetch_source(wildcards)["url"])
    return [] if path is None else [str(path)]


rule fetch:
    input:
        fetch_local_input,
    output:
        "resources/{dataset}/{source}/{filename}",
    params:
        url=lambda w: fetch_source(w)["url"],
        sha256=lambda w: fetch_source(w)["sha256"] or "",
    log:
        "logs/prepare/{dataset}/fetch-{source}-{filename}.log",
    conda:
        ENV
    shell:
        "rnnbench fetch --source {params.url:q} --sha256 '{params.sha256}' --out {output:q}"
        " > {log:q} 2>&1"
