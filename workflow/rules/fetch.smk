# Stage 1: copy or download each source and verify its sha256 (rnnbench.data.fetch).
# A local rule: compute nodes of a cluster often have no internet.


localrules:
    fetch,


rule fetch:
    input:
        fetch_local_input,
    output:
        "resources/{dataset}/{source}/{filename}",
    log:
        "logs/prepare/{dataset}/fetch-{source}-{filename}.log",
    conda:
        ENV
    params:
        url=lambda w: fetch_source(w)["url"],
        sha256=lambda w: fetch_source(w)["sha256"] or "",
    # On failure the log's end (what was tried, and the ways out) goes to the terminal too.
    shell:
        "rnnbench fetch --source {params.url:q} --sha256 '{params.sha256}' --out {output:q}"
        " --dataset {wildcards.dataset} --split {wildcards.source}"
        " > {log:q} 2>&1 || {{ tail -n 8 {log:q} >&2; exit 1; }}"
