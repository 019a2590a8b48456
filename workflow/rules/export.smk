# Opt-in (config `export: [tensorboard, mlflow]`): the runs in experiment trackers, one
# tracker run per cell, rewritten only where a cell's results changed (rnnbench.trackers).
import importlib.util


def export_targets():
    return [f"results/export/{tracker}/export.json" for tracker in config["export"]]


def missing_tracker_packages():
    """The trackers the config asks for whose package is not installed (checked at
    parse time, not after hours of training; under --sdm conda the env brings them)."""
    if not workflow.is_main_process or "conda" in str(
        workflow.deployment_settings.deployment_method
    ):
        return []
    return [t for t in config["export"] if importlib.util.find_spec(t) is None]


if missing_tracker_packages():
    raise WorkflowError(
        f"config export: {config['export']} needs the package(s) "
        f"{missing_tracker_packages()}, not installed here: pip install -e '.[trackers]' "
        "(or leave `export` empty)"
    )


rule export:
    input:
        runs="results/summary/runs.csv",
        metrics=run_targets(),
        code=package_code("trackers.py"),
    output:
        "results/export/{tracker}/export.json",
    log:
        "logs/export/{tracker}.log",
    localrule: True
    conda:
        "../../envs/rnnbench-trackers.yaml"
    shell:
        "rnnbench export --to {wildcards.tracker} results/export/{wildcards.tracker}"
        " --runs {input.runs:q} > {log:q} 2>&1"
