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
    shell:
        "rnnbench fetch --source {params.url:q} --sha256 '{params.sha256}' --out {output:q}"
        " > {log:q} 2>&1"
