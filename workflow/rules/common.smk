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

import rnnbench
from rnnbench.code_inputs import command_files
from rnnbench.config import prepare_config, schema_path
from rnnbench.cost import TRAIN_MEM_MB
from rnnbench.data.fetch import (
    canonical_source,
    missing_local_sources,
    source_key,
    stale_pins,
)
from rnnbench.errors import ConfigError
from rnnbench.experiment import paths
from rnnbench.experiment.grid import (
    DIMENSIONS,
    TUNED_KEYS,
    axis_values,
    cell_from_wildcards,
    cell_spec,
    folds_of,
    grid_cells,
)
from rnnbench.experiment.paths import RUN_OUTPUTS, SPLITS, cell_template, run_dir
from rnnbench.experiment.sources import dataset_sources, stage_options
from rnnbench.experiment.tasks import ALL_PLOT_KINDS, SIZE_PLOT_KIND, task_of
from rnnbench.experiment.tuning import (
    LR_FIGURE,
    LR_WILDCARD,
    SELECT_LOG,
    SELECTED,
    TRIAL_BENCHMARK,
    TRIAL_DIR,
    TRIAL_LOG,
    candidate_lrs,
    final_spec,
    is_tuned,
    lr_label,
    selected_path,
    trial_metrics_paths,
    trial_spec,
    tuned_cells,
)
from rnnbench.results import damaged_message, damaged_runs

min_version("9.0")

SPLITS = list(SPLITS)
CONFIG_SCHEMA = schema_path(workflow.basedir)
# The sources the jobs run: the workflow's own (an editable install), else the installed.
PACKAGE_SRC = Path(workflow.basedir) / "src" / "rnnbench"
PACKAGE_SRC = PACKAGE_SRC if PACKAGE_SRC.is_dir() else Path(rnnbench.__file__).parent
ENV = "../../envs/rnnbench.yaml"

# What the train rule's jobs are given beyond its own resources (--set-resources, the Slurm
# profile's set-resources: mem_mb, gpu), for the parse-time cost check (rnnbench.cost).
TRAIN_RESOURCES = dict(workflow.resource_settings.overwrite_resources.get("train", {}))

try:
    for note in prepare_config(config, CONFIG_SCHEMA, TRAIN_RESOURCES):
        logger.warning(f"config warning: {note}")
except ConfigError as err:
    raise WorkflowError(f"{err}\n(schema: {CONFIG_SCHEMA})") from None

MISSING_SOURCES = missing_local_sources(config["datasets"], config["datasets_to_run"])
if MISSING_SOURCES:
    raise WorkflowError(MISSING_SOURCES)

DATASETS = config["datasets"]
# The training jobs' environment (train, tune_trial; config `conda_env`): torch's CUDA
# build for GPU nodes.
TRAIN_ENV = {"cpu": ENV, "cuda": "../../envs/rnnbench-cuda.yaml"}[config["conda_env"]]
RUN_DATASETS = config["datasets_to_run"]
TEXT_DATASETS = [n for n, ds in DATASETS.items() if not task_of(ds["task"]).generated]
MEMORY_DATASETS = [n for n, ds in DATASETS.items() if task_of(ds["task"]).generated]
# Cross-validated datasets (split.folds): prepared once per fold, see folds.smk.
FOLD_DATASETS = [n for n in TEXT_DATASETS if folds_of(DATASETS[n])]
# Datasets whose grid has grid.train_sizes: their cells train on nested subsets.
SIZED_DATASETS = [n for n, ds in DATASETS.items() if axis_values(ds, "train_sizes")]
# Fetched source keys: all, a split, or a class file of format lines (<split>.<label>).
SOURCE_KEYS = sorted(
    {"all", *SPLITS}.union(*(dataset_sources(n, DATASETS[n]) for n in TEXT_DATASETS))
)


def one_of(names):
    """A wildcard regex matching exactly these names (never a prefix of something else)."""
    return "|".join(re.escape(n) for n in names) or "(?!)"


def code(*commands):
    """Every source file of rnnbench that `rnnbench <command>` executes, found from its
    imports (rnnbench.code_inputs): a rule's code input, so editing any of them reruns it.
    """
    return command_files(*commands, package_dir=PACKAGE_SRC)


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
    return axis_values(DATASETS[dataset], "lengths")


def encoded_paths(dataset):
    """A dataset's arrays: one per length; a cross-validated dataset's one set per fold,
    each with its own vocabulary."""
    folds = range(folds_of(DATASETS[dataset])) if dataset in FOLD_DATASETS else [None]
    return [
        paths.encoded_file(paths.prepared_dir(dataset, fold), length)
        for fold in folds
        for length in grid_lengths(dataset)
    ]


def prepared_targets():
    targets = []
    for name in RUN_DATASETS:
        targets += encoded_paths(name)
        targets.append(paths.datacard_file(name))
    return targets


# Templates of the rules (wildcards = the grid's keys; rnnbench.experiment.paths) for a cell
# without a fold, and a cell of a cross-validated dataset (folds.smk).
PREPARED = paths.prepared_dir("{dataset}")
FOLD_PREPARED = paths.prepared_dir("{dataset}", "{fold}")
FOLD0_PREPARED = paths.prepared_dir(
    "{dataset}", 0
)  # a cross-validated data card's fold
RUN_KEYS = tuple(d.key for d in DIMENSIONS if not d.optional)
FOLD_KEYS = tuple(d.key for d in DIMENSIONS if not d.optional or d.key == "fold")
# a cell of a grid with grid.train_sizes (train.smk's train_sized)
SIZED_KEYS = tuple(d.key for d in DIMENSIONS if not d.optional or d.key == "train_size")
RUN_DIR = cell_template(paths.RUNS, RUN_KEYS)
FOLD_RUN_DIR = cell_template(paths.RUNS, FOLD_KEYS)
SIZED_RUN_DIR = cell_template(paths.RUNS, SIZED_KEYS)
RUN_METRICS = f"{RUN_DIR}/{paths.METRICS_FILE}"
ALL_CELLS = [cell for name in RUN_DATASETS for cell in grid_cells(name, DATASETS[name])]
GRID_WILDCARDS = {
    dim.key: dim.pattern
    or one_of({str(cell[dim.key]) for cell in ALL_CELLS if dim.key in cell})
    for dim in DIMENSIONS
}


def in_expand(template):
    """A template inside expand(): its wildcards' braces doubled."""
    return template.replace("{", "{{").replace("}", "}}")


def run_outputs(template, labels=None):
    """A training rule's outputs in run directory ``template``; with ``labels`` its
    history.csv goes into the report, labelled with the cell's keys."""
    history = f"{template}/{paths.HISTORY_FILE}"
    if labels is not None:
        history = report(
            history,
            caption="../../reports/captions/history.rst",
            category="{dataset}",
            subcategory="Runs",
            labels=labels,
        )
    return {
        "metrics": f"{template}/{paths.METRICS_FILE}",
        "history": history,
        "model": f"{template}/{paths.MODEL_FILE}",
    }


def cell_labels(keys):
    names = {"arch": "architecture"}
    return {names.get(key, key): f"{{{key}}}" for key in keys}


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
    (rnnbench.experiment.tuning.final_spec)."""
    cell = cell_from_wildcards(wildcards)
    ds = DATASETS[wildcards.dataset]
    return json.dumps(final_spec(ds, cell_spec(ds, cell)), sort_keys=True)


def train_lr_selection(wildcards):
    """A tuned cell's selected.json (an input of its train job), else nothing."""
    cell = cell_from_wildcards(wildcards)
    return [selected_path(cell)] if is_tuned(DATASETS[wildcards.dataset], cell) else []


# --- learning-rate tuning (grid.tune; rules in tune.smk) ---


def trial_spec_json(wildcards):
    """A trial's spec as canonical JSON: the cell's, on the tuning seed, at this lr only."""
    cell = cell_from_wildcards(wildcards)
    ds = DATASETS[wildcards.dataset]
    lrs = {lr_label(lr): lr for lr in candidate_lrs(ds, cell["optimizer"])}
    if wildcards.lr not in lrs or not is_tuned(ds, cell):
        raise WorkflowError(
            f"{wildcards.dataset}/{wildcards.arch}/{wildcards.optimizer}: lr {wildcards.lr} "
            f"is not a candidate of datasets.{wildcards.dataset}.grid.tune ({sorted(lrs)})"
        )
    return json.dumps(trial_spec(ds, cell, lrs[wildcards.lr]), sort_keys=True)


def tune_trial_metrics(wildcards):
    return trial_metrics_paths(
        DATASETS[wildcards.dataset], cell_from_wildcards(wildcards)
    )


def tuned_selections(wildcards):
    name = wildcards.dataset
    return [selected_path(cell) for cell in tuned_cells(name, DATASETS[name])]


def run_targets():
    return [f"{run_dir(cell)}/{paths.METRICS_FILE}" for cell in ALL_CELLS]


PLOT_KINDS = list(ALL_PLOT_KINDS)
TRAINED_DATASETS = [n for n in RUN_DATASETS if axis_values(DATASETS[n], "archs")]


def text_inputs(base):
    """A text dataset's tokens and vocabulary under ``base`` (a prepared directory)."""
    return {
        "tokens": [paths.tokens_file(base, split) for split in SPLITS],
        "vocab": paths.vocab_file(base),
    }


def baseline_input(wildcards):
    name = wildcards.dataset
    if task_of(DATASETS[name]["task"]).generated:
        return {"encoded": encoded_paths(name)}
    return text_inputs(paths.prepared_dir(name))


def baseline_groups(wildcards):
    """The dataset's example groups (length, train/eval subsample, seeds) as JSON: the
    baselines are fit and scored on exactly the rows its grid cells see."""
    from rnnbench.analysis.baselines import subsample_groups

    name = wildcards.dataset
    cells = [
        cell_spec(DATASETS[name], cell) for cell in ALL_CELLS if cell["dataset"] == name
    ]
    return json.dumps(subsample_groups(DATASETS[name]["task"], cells), sort_keys=True)


def baseline_options(wildcards):
    """What the baselines compute on, beyond their data (a params function, so editing
    it reruns them): the rows (groups), and a text dataset's cut (NER's most-frequent
    tag and sentiment's bag of words read it)."""
    ds = DATASETS[wildcards.dataset]
    options = f"--groups-json {shlex.quote(baseline_groups(wildcards))}"
    if not task_of(ds["task"]).generated:
        options = f"--truncating {ds['truncating']} {options}"
    return options


def baseline_data(wildcards, input):
    """The baselines command's data arguments, from the rule's inputs (so the fold
    variant passes its own): the encoded arrays, or the tokens and vocabulary."""
    if "encoded" in input.keys():
        return f"--encoded {' '.join(input.encoded)}"
    return f"--tokens-dir {os.path.dirname(input.tokens[0])} --vocab {input.vocab}"


def analysis_targets():
    """runs.csv, per trained dataset its comparison table, figures and data card, and the
    published-vs-measured table when the config lists published numbers."""
    if not ALL_CELLS:
        return []
    targets = [paths.RUNS_CSV]
    for name in TRAINED_DATASETS:
        kinds = task_of(DATASETS[name]["task"]).plot_kinds
        targets += [
            f"{paths.SUMMARY}/{name}/comparison.html",
            f"{paths.SUMMARY}/{name}/datacard.html",
        ]
        if name in SIZED_DATASETS:
            kinds = (*kinds, SIZE_PLOT_KIND)
            if (
                DATASETS[name]["task"] == "memory"
            ):  # the task reported as solved fractions
                targets.append(f"{paths.SUMMARY}/{name}/solved_by_size.html")
        targets += [f"{paths.SUMMARY}/{name}/plots/{kind}.svg" for kind in kinds]
        if tuned_cells(name, DATASETS[name]):
            targets.append(f"{paths.SUMMARY}/{name}/plots/{LR_FIGURE}.svg")
    if config.get("published"):
        targets += [
            f"{paths.SUMMARY}/published.csv",
            f"{paths.SUMMARY}/published.html",
        ]
    targets.append(f"{paths.SUMMARY}/summary.md")
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
    if task_of(DATASETS[name]["task"]).generated:
        return {"encoded": encoded_paths(name)}
    base = paths.prepared_dir(name)
    return {
        "split": [paths.split_file(base, split) for split in SPLITS],
        **text_inputs(base),
    }


def datacard_dirs(wildcards, input):
    """The datacard command's inputs, as arguments (from the rule's inputs)."""
    if "encoded" in input.keys():
        return "--encoded " + " ".join(input.encoded)
    return (
        f"--split-dir {os.path.dirname(input.split[0])}"
        f" --tokens-dir {os.path.dirname(input.tokens[0])} --vocab {input.vocab}"
    )


def input_dir(name):
    """A params function: the directory of the rule's input ``name`` (its first file).
    A function of ``input``, so Snakemake leaves it out of the params rerun trigger: a
    path is where a job reads, never what it computes."""
    return lambda wildcards, input: os.path.dirname(getattr(input, name)[0])


def output_dir(wildcards, output):
    """A params function: the directory of the rule's first output (a derived param)."""
    return os.path.dirname(output[0])
