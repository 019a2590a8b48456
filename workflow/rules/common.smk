# Shared helpers: config validation, wildcard constraints, paths and input functions.
import importlib.util
import json
import os
import posixpath
import re
import shlex
import urllib.parse
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.logging import logger
from snakemake.utils import min_version

from rnnbench.config import (
    FOLD_RUN_DIR,
    cell_spec,
    dataset_sources,
    folds_of,
    grid_cells,
    run_dir,
    stage_options,
    validate_config,
    validate_grids,
)
from rnnbench.data.fetch import (
    canonical_source,
    missing_local_sources,
    source_key,
    stale_pins,
)
from rnnbench.errors import ConfigError
from rnnbench.registry import extra_module_files
from rnnbench.results import damaged_message, damaged_runs
from rnnbench.tuning import (
    LR_FIGURE,
    LR_WILDCARD,
    SELECTED,
    TRIAL_DIR,
    candidate_lrs,
    final_spec,
    is_tuned,
    lr_label,
    selected_path,
    trial_metrics_paths,
    trial_spec,
    tuned_cells,
)

min_version("9.0")

SPLITS = ["train", "validation", "test"]
CONFIG_SCHEMA = Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml"
PACKAGE_SRC = Path(workflow.basedir) / "src" / "rnnbench"
ENV = "../../envs/rnnbench.yaml"

try:
    for note in validate_config(config, CONFIG_SCHEMA):
        logger.warning(f"config warning: {note}")
    validate_grids(config)
except ConfigError as err:
    raise WorkflowError(f"{err}\n(schema: {CONFIG_SCHEMA})") from None

MISSING_SOURCES = missing_local_sources(config["datasets"], config["datasets_to_run"])
if MISSING_SOURCES:
    raise WorkflowError(MISSING_SOURCES)

DATASETS = config["datasets"]
# The train rule's environment (config `conda_env`): torch's CUDA build for GPU nodes.
TRAIN_ENV = {"cpu": ENV, "cuda": "../../envs/rnnbench-cuda.yaml"}[config["conda_env"]]
RUN_DATASETS = config["datasets_to_run"]
TEXT_DATASETS = [n for n, ds in DATASETS.items() if ds["task"] != "memory"]
MEMORY_DATASETS = [n for n, ds in DATASETS.items() if ds["task"] == "memory"]
# Cross-validated datasets (split.folds): prepared once per fold, see folds.smk.
FOLD_DATASETS = [n for n in TEXT_DATASETS if folds_of(DATASETS[n])]
# Fetched source keys: all, a split, or a class file of format lines (<split>.<label>).
SOURCE_KEYS = sorted(
    {"all", *SPLITS}.union(*(dataset_sources(n, DATASETS[n]) for n in TEXT_DATASETS))
)


def one_of(names):
    """A wildcard regex matching exactly these names (never a prefix of something else)."""
    return "|".join(re.escape(n) for n in names) or "(?!)"


def package_code(*modules):
    """Source files of rnnbench that a job executes, declared as inputs so code edits rerun it."""
    paths = [PACKAGE_SRC / m for m in modules]
    return [str(p) for p in paths if p.exists()]


# What a job may execute: Python modules and the sources compiled at run time
# (models/native/kernels.cpp).
CODE_SUFFIXES = {".py", ".c", ".cc", ".cpp", ".h", ".hpp", ".cu"}


def package_tree(*folders):
    """Every source file under these package folders, subfolders included (the model
    zoo with its compiled kernels, the training loop)."""
    return sorted(
        str(p)
        for folder in folders
        for p in (PACKAGE_SRC / folder).rglob("*")
        if p.suffix in CODE_SUFFIXES and p.is_file() and "__pycache__" not in p.parts
    )


def train_code():
    """Every source file a training job executes: the package modules `rnnbench train`
    imports, the native kernels, and extra architecture modules (RNNBENCH_ARCH_MODULES).
    """
    modules = ("__init__.py", "__main__.py", "cli.py", "errors.py", "io.py", "names.py")
    return (
        package_tree("models", "train")
        + package_code(
            *modules, "registry.py", "tuning.py", "results.py", "data/arrays.py"
        )
        + extra_module_files()
    )


def dataset_config(*keys, optional=()):
    """A params function: the dataset's config values this stage depends on, as JSON
    (``optional`` ones only where the dataset sets them)."""
    return lambda wildcards: stage_options(
        DATASETS[wildcards.dataset], "task", *keys, optional=optional
    )


def source_file_name(url):
    """The file name a source is stored under in resources/ (its URL's last part)."""
    name = posixpath.basename(urllib.parse.urlparse(url).path.rstrip(posixpath.sep))
    return re.sub(r"[^A-Za-z0-9._-]", "_", name) or "download"


def fetched_path(dataset, source):
    url = canonical_source(dataset_sources(dataset, DATASETS[dataset])[source]["url"])
    return f"resources/{dataset}/{source}/{source_file_name(url)}"


def fetched_sources(dataset):
    return {
        key: fetched_path(dataset, key)
        for key in dataset_sources(dataset, DATASETS[dataset])
    }


# A sha256 is not a param of the fetch rule (pinning one must rerun nothing), so a pin that
# a fetched copy does not match is caught here. Hashing the copies takes a moment; the
# jobs a cluster runs parse the Snakefile again and skip it.
if workflow.is_main_process:
    STALE_PINS = stale_pins(
        [
            (source_key(name, source), fetched_path(name, source), spec["sha256"])
            for name in RUN_DATASETS
            for source, spec in dataset_sources(name, DATASETS[name]).items()
        ]
    )
    if STALE_PINS:
        raise WorkflowError(STALE_PINS)


def grid_lengths(dataset):
    return DATASETS[dataset]["grid"]["lengths"]


def encoded_paths(dataset):
    if dataset in FOLD_DATASETS:
        return fold_encoded_paths(dataset)
    return [
        f"results/prepared/{dataset}/len{length}.npz"
        for length in grid_lengths(dataset)
    ]


def fold_encoded_paths(dataset):
    """A cross-validated dataset's arrays: one set per fold, each with its own vocabulary."""
    return [
        f"results/prepared/{dataset}/fold{fold}/len{length}.npz"
        for fold in range(folds_of(DATASETS[dataset]))
        for length in grid_lengths(dataset)
    ]


def prepared_targets():
    targets = []
    for name in RUN_DATASETS:
        targets += encoded_paths(name)
        targets.append(f"results/prepared/{name}/datacard.json")
    return targets


RUN_DIR = "results/runs/{dataset}/{arch}/{optimizer}/len{length}/seed{seed}"
RUN_METRICS = f"{RUN_DIR}/metrics.json"
ALL_CELLS = [cell for name in RUN_DATASETS for cell in grid_cells(name, DATASETS[name])]


def unforced_damage(damaged):
    """The damaged results whose cell this invocation does not rerun (--forcerun)."""
    settings = workflow.dag_settings
    if settings is None or settings.forceall or "train" in settings.forcerun:
        return {}
    forced = {os.path.dirname(os.path.normpath(f)) for f in settings.forcerun}
    return {
        path: why
        for path, why in damaged.items()
        if os.path.dirname(path) not in forced
    }


RESULTS_CHECKED = []


def results_intact(wildcards):
    """No input: Snakemake reruns a cell whose output is missing, never one whose output
    is damaged (truncated, overwritten), so when the DAG is built (the --forcerun targets
    are known then, not at parse time) every finished cell is checked once, without torch,
    and a damaged one stops the workflow naming its files and the command that reruns it.
    """
    if not RESULTS_CHECKED and workflow.is_main_process:
        RESULTS_CHECKED.append(True)
        damaged = damaged_runs(run_dir(c) for c in ALL_CELLS)
        damaged = unforced_damage(damaged)
        if damaged:
            raise WorkflowError(damaged_message(damaged))
    return []


def train_spec(wildcards):
    """The cell's resolved hyperparameters as canonical JSON (the rule's params); a cell
    whose lr grid.tune selects says `"lr": {"tuned": <its selected.json>}`
    (rnnbench.tuning.final_spec)."""
    cell = {
        "dataset": wildcards.dataset,
        "arch": wildcards.arch,
        "optimizer": wildcards.optimizer,
        "length": int(wildcards.length),
        "seed": int(wildcards.seed),
    }
    ds = DATASETS[wildcards.dataset]
    return json.dumps(final_spec(ds, cell_spec(ds, cell)), sort_keys=True)


def train_lr_selection(wildcards):
    """A tuned cell's selected.json (an input of its train job), else nothing."""
    cell = {
        "dataset": wildcards.dataset,
        "arch": wildcards.arch,
        "optimizer": wildcards.optimizer,
        "length": int(wildcards.length),
    }
    return [selected_path(cell)] if is_tuned(DATASETS[wildcards.dataset], cell) else []


# --- learning-rate tuning (grid.tune; rules in tune.smk) ---


def trial_spec_json(wildcards):
    """A trial's spec as canonical JSON: the cell's, on the tuning seed, at this lr only."""
    cell = {
        "dataset": wildcards.dataset,
        "arch": wildcards.arch,
        "optimizer": wildcards.optimizer,
        "length": int(wildcards.length),
    }
    ds = DATASETS[wildcards.dataset]
    lrs = {lr_label(lr): lr for lr in candidate_lrs(ds)}
    if wildcards.lr not in lrs or not is_tuned(ds, cell):
        raise WorkflowError(
            f"{wildcards.dataset}/{wildcards.arch}/{wildcards.optimizer}: lr {wildcards.lr} "
            f"is not a candidate of datasets.{wildcards.dataset}.grid.tune ({sorted(lrs)})"
        )
    return json.dumps(trial_spec(ds, cell, lrs[wildcards.lr]), sort_keys=True)


def tune_cell(wildcards):
    return {
        "dataset": wildcards.dataset,
        "arch": wildcards.arch,
        "optimizer": wildcards.optimizer,
        "length": int(wildcards.length),
    }


def tune_trial_metrics(wildcards):
    return trial_metrics_paths(DATASETS[wildcards.dataset], tune_cell(wildcards))


def tuned_selections(wildcards):
    name = wildcards.dataset
    return [selected_path(cell) for cell in tuned_cells(name, DATASETS[name])]


def run_targets():
    return [f"{run_dir(cell)}/metrics.json" for cell in ALL_CELLS]


PLOT_KINDS = ["heatmap", "learning_curves", "metric_vs_length", "metric_vs_cost"]
NER_PLOT_KINDS = ["entity_f1_per_type"]
TRAINED_DATASETS = [n for n in RUN_DATASETS if DATASETS[n]["grid"].get("archs")]


def baseline_input(wildcards):
    name = wildcards.dataset
    if DATASETS[name]["task"] == "memory":
        return {"encoded": encoded_paths(name)}
    return {
        "tokens": expand(
            f"results/prepared/{name}/tokens/{{split}}.jsonl", split=SPLITS
        ),
        "vocab": f"results/prepared/{name}/vocab.json",
    }


def baseline_groups(wildcards):
    """The dataset's example groups (length, train/eval subsample, seeds) as JSON: the
    baselines are fit and scored on exactly the rows its grid cells see."""
    from rnnbench.analysis.baselines import subsample_groups

    name = wildcards.dataset
    cells = [
        cell_spec(DATASETS[name], cell) for cell in ALL_CELLS if cell["dataset"] == name
    ]
    return json.dumps(subsample_groups(DATASETS[name]["task"], cells), sort_keys=True)


def baseline_args(wildcards):
    data = baseline_input(wildcards)
    groups = f"--groups-json {shlex.quote(baseline_groups(wildcards))}"
    if "encoded" in data:
        return f"--encoded {' '.join(data['encoded'])} {groups}"
    args = f"--tokens-dir results/prepared/{wildcards.dataset}/tokens --vocab {data['vocab']}"
    # the models' cut: NER's most-frequent tag and sentiment's bag of words read it
    args += f" --truncating {DATASETS[wildcards.dataset]['truncating']}"
    return f"{args} {groups}"


def analysis_targets():
    """runs.csv, per trained dataset its comparison table, figures and data card, and the
    published-vs-measured table when the config lists published numbers."""
    if not ALL_CELLS:
        return []
    targets = ["results/summary/runs.csv"]
    for name in TRAINED_DATASETS:
        kinds = PLOT_KINDS + (NER_PLOT_KINDS if DATASETS[name]["task"] == "ner" else [])
        targets += [
            f"results/summary/{name}/comparison.html",
            f"results/summary/{name}/datacard.html",
        ]
        targets += [f"results/summary/{name}/plots/{kind}.svg" for kind in kinds]
        if tuned_cells(name, DATASETS[name]):
            targets.append(f"results/summary/{name}/plots/{LR_FIGURE}.svg")
    if config.get("published"):
        targets += ["results/summary/published.csv", "results/summary/published.html"]
    targets.append("results/summary/summary.md")
    return targets


def export_targets():
    """The tracker exports the config asks for (`export`, rule export)."""
    return [f"results/export/{tracker}/export.json" for tracker in config["export"]]


def missing_tracker_packages():
    """The trackers of `export` whose package is not installed, found at parse time rather
    than after the training (under --sdm conda the rule's environment brings them)."""
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


def final_targets(target):
    """The default target: the data stage only, or everything through the report."""
    if target == "prepare":
        return prepared_targets()
    return prepared_targets() + run_targets() + analysis_targets() + export_targets()


def fetch_source(wildcards):
    return dataset_sources(wildcards.dataset, DATASETS[wildcards.dataset])[
        wildcards.source
    ]


def fetch_local_input(wildcards):
    """A local source is an input, so Snakemake notices when the file changes."""
    from rnnbench.data.fetch import local_path

    path = local_path(canonical_source(fetch_source(wildcards)["url"]))
    return [] if path is None else [str(path)]


def datacard_input(wildcards):
    name = wildcards.dataset
    if DATASETS[name]["task"] == "memory":
        return {"encoded": encoded_paths(name)}
    return {
        "split": expand(f"results/prepared/{name}/split/{{split}}.jsonl", split=SPLITS),
        "tokens": expand(
            f"results/prepared/{name}/tokens/{{split}}.jsonl", split=SPLITS
        ),
        "vocab": f"results/prepared/{name}/vocab.json",
    }


# --- k-fold cross-validation (split.folds), used by folds.smk ---
FOLD_PREPARED = "results/prepared/{dataset}/fold{fold}"
FOLD_EXPAND = "results/prepared/{{dataset}}/fold{{fold}}"  # the same, inside expand()


def fold_train_spec(wildcards):
    """A fold cell's resolved hyperparameters as canonical JSON (the rule's params)."""
    cell = {
        "dataset": wildcards.dataset,
        "arch": wildcards.arch,
        "optimizer": wildcards.optimizer,
        "length": int(wildcards.length),
        "fold": int(wildcards.fold),
        "seed": int(wildcards.seed),
    }
    return json.dumps(cell_spec(DATASETS[wildcards.dataset], cell), sort_keys=True)


def fold_tokens(wildcards):
    return f"{FOLD_PREPARED.format(**wildcards)}/tokens"


def fold_baseline_args(wildcards):
    args = (
        f"--tokens-dir {fold_tokens(wildcards)}"
        f" --vocab {FOLD_PREPARED.format(**wildcards)}/vocab.json"
    )
    # the models' cut: NER's most-frequent tag and sentiment's bag of words read it
    args += f" --truncating {DATASETS[wildcards.dataset]['truncating']}"
    return f"{args} --groups-json {shlex.quote(baseline_groups(wildcards))}"
