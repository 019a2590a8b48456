# Shared helpers: config validation, wildcard constraints, paths and input functions.
import re
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.logging import logger
from snakemake.utils import min_version

from rnnbench.config import dataset_sources, stage_options, validate_config
from rnnbench.errors import ConfigError

min_version("9.0")

SPLITS = ["train", "validation", "test"]
CONFIG_SCHEMA = Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml"
PACKAGE_SRC = Path(workflow.basedir) / "src" / "rnnbench"
ENV = "../../envs/rnnbench.yaml"

try:
    for note in validate_config(config, CONFIG_SCHEMA):
        logger.warning(f"config warning: {note}")
except ConfigError as err:
    raise WorkflowError(f"{err}\n(schema: {CONFIG_SCHEMA})") from None

DATASETS = config["datasets"]
RUN_DATASETS = config["datasets_to_run"]
TEXT_DATASETS = [n for n, ds in DATASETS.items() if ds["task"] != "memory"]
MEMORY_DATASETS = [n for n, ds in DATASETS.items() if ds["task"] == "memory"]


def one_of(names):
    """A wildcard regex matching exactly these names (never a prefix of something else)."""
    return "|".join(re.escape(n) for n in names) or "(?!)"


wildcard_constraints:
    dataset=one_of(DATASETS),
    split=one_of(SPLITS),
    source=one_of(["all", *SPLITS]),
    length=r"[1-9][0-9]*",


def package_code(*modules):
    """Source files of rnnbench a rule runs: inputs, so editing the code reruns the rule."""
    paths = [PACKAGE_SRC / m for m in modules]
    return [str(p) for p in paths if p.exists()]


def dataset_config(*keys):
    """A params function: the dataset's config values this stage depends on, as JSON."""
    return lambda wildcards: stage_options(DATASETS[wildcards.dataset], "task", *keys)


def source_file_name(url):
    name = re.sub(r"[^A-Za-z0-9._-]", "_", url.rstrip("/").rsplit("/", 1)[-1])
    return name or "download"


def fetched_path(dataset, source_key):
    url = dataset_sources(dataset, DATASETS[dataset])[source_key]["url"]
    return f"resources/{dataset}/{source_key}/{source_file_name(url)}"


def fetched_sources(dataset):
    return {
        key: fetched_path(dataset, key)
        for key in dataset_sources(dataset, DATASETS[dataset])
    }


def grid_lengths(dataset):
    return DATASETS[dataset]["grid"]["lengths"]


def encoded_paths(dataset):
    return [
        f"results/prepared/{dataset}/len{length}.npz" for length in grid_lengths(dataset)
    ]


def prepared_targets():
    targets = []
    for name in RUN_DATASETS:
        targets += encoded_paths(name)
        targets.append(f"results/prepared/{name}/datacard.json")
    return targets


def final_targets(target):
    """What `rule all` builds; grows with each later stage of the pipeline."""
    return prepared_targets()
