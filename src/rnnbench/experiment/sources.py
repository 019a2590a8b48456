"""A dataset's source files, and the config values each data stage reads.

Used by the Snakefile at parse time (which files to fetch, each stage's params) and by the
data stage itself (rnnbench.data), so both read a dataset's config the same way.
"""

from __future__ import annotations

import json

from rnnbench.errors import ConfigError
from rnnbench.experiment.tasks import task_of

# Formats whose source has no official split, so all three splits are carved by fraction.
UNSPLIT_FORMATS = {"gmb_csv"}
# Formats read from one file only: `splits` (one file per split) does not apply.
ONE_FILE_FORMATS = UNSPLIT_FORMATS | {"aclimdb"}  # aclimdb: one tarball, both splits


def check_array_budget(
    where: str, examples: int, length: int, bytes_per_position: int, budget_gib: float
) -> None:
    """Refuse a (dataset, length) whose encoded arrays would exceed the memory budget."""
    need_gib = examples * length * bytes_per_position / 2**30
    if need_gib > budget_gib:
        raise ConfigError(
            f"{where}: length {length} needs {need_gib:.3g} GiB for the encoded arrays of "
            f"{examples:,} examples, over memory_budget_gib {budget_gib:g}; use a shorter "
            "length, or raise memory_budget_gib if the machine has the memory"
        )


def signal_index(position: int | dict, length: int) -> int:
    """Resolve a signal position (see the schema) to a 0-based index within ``length``."""
    if isinstance(position, dict):
        ((kind, k),) = position.items()
        index = k if kind == "from_start" else length - k
    else:
        index = position if position >= 0 else length + position
    if not 0 <= index < length:
        raise ValueError(f"{position!r} is outside a sequence of length {length}")
    return index


def is_remote(url: str) -> bool:
    return url.startswith(("http://", "https://", "ftp://"))


def _source(value: str | dict) -> dict:
    if isinstance(value, str):
        return {"url": value, "sha256": None}
    return {"url": value["url"], "sha256": value.get("sha256")}


def class_source_key(split: str, label: str) -> str:
    """The source key of one class file of `format: lines`: ``<split>.<label>``, with
    ``all`` for the split of a corpus without one (``classes`` at the dataset's top)."""
    return f"{split}.{label}"


def source_parts(key: str) -> tuple[str, str | None]:
    """``(split, label)`` of a source key: ``("all", None)``, ``("test", None)``,
    ``("train", "pos")`` for a class file (split names never hold a dot)."""
    split, _, label = key.partition(".")
    return split, (label or None)


def dataset_sources(name: str, ds: dict) -> dict[str, dict]:
    """The files a dataset is read from: ``{"all": {...}}`` or one entry per given split;
    for `format: lines` one entry per class file, ``all.<label>`` or ``<split>.<label>``."""
    if task_of(ds["task"]).generated:
        return {}
    if ds.get("url"):
        return {"all": {"url": ds["url"], "sha256": ds.get("sha256")}}
    if ds.get("classes"):
        return {
            class_source_key("all", label): _source(value) for label, value in ds["classes"].items()
        }
    sources = {}
    for split, value in ds["splits"].items():
        if isinstance(value, dict) and value.get("classes"):
            for label, class_value in value["classes"].items():
                sources[class_source_key(split, label)] = _source(class_value)
        else:
            sources[split] = _source(value)
    return sources


# Dataset keys that can never change what a stage writes: a guard (a longer line limit
# reads the same lines, if the stage succeeded) or a dead knob (spaCy's Tokenizer.pipe
# tokenizes text by text whatever its batch_size). They are left out of every stage's
# params, so changing them reruns nothing. (The top-level memory_budget_gib, another guard,
# is given to the encode job outside its params; see workflow/rules/encode.smk.)
OUTPUT_NEUTRAL = {"options": ("max_line_bytes",), "text": ("batch_size",)}


def reader_options(ds: dict) -> dict[str, dict]:
    """The reader options of each source: the dataset's ``options``, overridden key by key
    by the ``options`` of its entry under ``splits`` (a test file whose columns are named or
    ordered differently, another encoding, ...). Sources without overrides are left out."""
    overrides = {}
    base = ds.get("options", {})
    for split, value in (ds.get("splits") or {}).items():
        if not isinstance(value, dict):
            continue
        split_options = {**base, **(value.get("options") or {})}
        if value.get("classes"):  # format lines: dataset < split < class file
            for label, class_value in value["classes"].items():
                own = class_value.get("options") if isinstance(class_value, dict) else None
                if value.get("options") or own:
                    key = class_source_key(split, label)
                    overrides[key] = {**split_options, **(own or {})}
        elif value.get("options"):
            overrides[split] = split_options
    for label, class_value in (ds.get("classes") or {}).items():
        if isinstance(class_value, dict) and class_value.get("options"):
            overrides[class_source_key("all", label)] = {**base, **class_value["options"]}
    return overrides


def stage_options(ds: dict, *keys: str, optional: tuple[str, ...] = ()) -> str:
    """The config values one stage's output depends on, as canonical JSON.

    Rules pass this string as a ``params:`` value, so editing a value reruns exactly the
    stages that read it (Snakemake's params rerun trigger); the keys of ``OUTPUT_NEUTRAL``
    are left out, so editing those reruns nothing. ``optional`` keys are included only when
    the dataset sets them, so adding one to a stage leaves the params of datasets without
    it (hence their outputs) as they were.
    """
    options = {}
    keys = (*keys, *(key for key in optional if ds.get(key) is not None))
    for key in keys:
        value = ds.get(key)
        if isinstance(value, dict) and key in OUTPUT_NEUTRAL:
            value = {k: v for k, v in value.items() if k not in OUTPUT_NEUTRAL[key]}
        options[key] = value
        if key == "options":  # per-source overrides, without the sources' urls and hashes
            options["split_options"] = {
                split: {k: v for k, v in opts.items() if k not in OUTPUT_NEUTRAL["options"]}
                for split, opts in reader_options(ds).items()
            }
    return json.dumps(options, sort_keys=True)
