# Stage 1: copy or download each source and verify its sha256 (rnnbench.data.fetch).
# A local rule: compute nodes of a cluster often have no internet.


localrules:
    fetch,


rule fetch:
    input:
        fetch_local_input,
        code=code("fetch"),
    output:
        "resources/{dataset}/{source}/{filename}",
    log:
        "logs/prepare/{dataset}/fetch-{source}-{filename}.log",
    conda:
        ENV
    params:
        # One spelling per local file (see rnnbench.data.fetch.canonical_source), so
        # pointing `url` at the same file by another path reruns nothing.
        url=lambda w: canonical_source(fetch_source(w)["url"]),
        # Checked, never changes what is written: a function of `output`, which Snakemake
        # leaves out of the params rerun trigger (a "derived" param), so pinning a sha256
        # reruns nothing; common.smk checks a changed pin against the fetched copy.
        sha256=lambda w, output: fetch_source(w)["sha256"] or "",
    # On failure the log's end (what was tried, and the ways out) goes to the terminal too.
    shell:
        "rnnbench fetch --source {params.url:q} --sha256 '{params.sha256}' --out {output:q}"
        " --dataset {wildcards.dataset} --split {wildcards.source}"
        " > {log:q} 2>&1 || {{ tail -n 8 {log:q} >&2; exit 1; }}"
