"""One node per rule in the report's rule graph.

Snakemake's report (``snakemake.report.rulegraph_spec``) keeps one job per rule *per
level of the job DAG's topological sort*. This workflow's datasets have pipelines of
different depths (the memory task has no fetch, tokenize or vocabulary stage), so the
same rule sits at different levels for different datasets and the report drew
``baselines``, ``datacard``, ``datacard_report`` and ``train`` twice. Here the graph is
built from the rules instead: one node per rule, placed at the rule's longest path from
a source rule, with an edge wherever a job of one rule depends on a job of the other.
"""

from __future__ import annotations

from typing import Any


def rule_edges(dag: Any) -> dict[str, set[str]]:
    """``{rule: {rules it depends on}}`` over every job of the DAG."""
    graph: dict[str, set[str]] = {}
    for job in dag.jobs:
        deps = graph.setdefault(job.rule.name, set())
        for dep in dag.dependencies[job]:
            graph.setdefault(dep.rule.name, set())
            if dep.rule.name != job.rule.name:
                deps.add(dep.rule.name)
    return graph


def rule_levels(graph: dict[str, set[str]]) -> dict[str, int]:
    """Each rule's longest path from a rule without dependencies (0)."""
    levels: dict[str, int] = {}

    def level(rule: str, trail: tuple[str, ...] = ()) -> int:
        if rule not in levels:
            if rule in trail:  # a cycle cannot occur in a DAG; do not recurse forever
                return 0
            deps = graph.get(rule, set())
            levels[rule] = 1 + max((level(d, (*trail, rule)) for d in deps), default=-1)
        return levels[rule]

    for rule in graph:
        level(rule)
    return levels


def rulegraph_spec(dag: Any) -> tuple[dict[str, list[dict[str, Any]]], int, int]:
    """Snakemake's ``rulegraph_spec`` contract: nodes and links, one node per rule."""
    graph = rule_edges(dag)
    levels = rule_levels(graph)
    order = sorted(graph, key=lambda rule: (levels[rule], rule))
    idx = {rule: i for i, rule in enumerate(order)}
    nodes = [{"rule": rule, "fx": 10, "fy": i * 50} for i, rule in enumerate(order)]
    links: list[dict[str, Any]] = []
    direct: list[dict[str, Any]] = []
    for rule in order:
        for dep in sorted(graph[rule], key=idx.__getitem__):
            link = {
                "target": idx[rule],
                "source": idx[dep],
                "sourcerule": dep,
                "targetrule": rule,
                "value": 1,
            }
            (direct if idx[rule] - idx[dep] == 1 else links).append(link)
    ymax = max((node["fy"] for node in nodes), default=0)
    return {"nodes": nodes, "links": links, "links_direct": direct}, 100, ymax


def install() -> None:
    """Use :func:`rulegraph_spec` for ``snakemake --report`` (called by the Snakefile)."""
    try:
        from snakemake.report import html_reporter
    except ImportError:  # another Snakemake layout: keep its own graph
        return
    if hasattr(html_reporter, "rulegraph_spec"):
        html_reporter.rulegraph_spec = rulegraph_spec
