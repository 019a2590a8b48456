"""Config validation: the JSON schema, its defaults, and the checks a schema cannot express.

Everything here runs when the Snakefile is parsed, so a bad config fails at
``snakemake -n`` before any job starts, with a message naming the key.
"""

from __future__ import annotations

import copy
import json
import re
import warnings
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from rnnbench.errors import ConfigError

FORMATS_BY_TASK = {
    "sentiment": {"aclimdb", "sentiment_table", "jsonl", "lines"},
    "ner": {"gmb_csv", "conll"},
    "memory": {"synthetic"},
}
# Formats whose source has no official split, so all three splits are carved by fraction.
UNSPLIT_FORMATS = {"gmb_csv"}
# Formats read from one file only: `splits` (one file per split) does not apply.
ONE_FILE_FORMATS = UNSPLIT_FORMATS | {"aclimdb"}  # aclimdb: one tarball, both splits


def _key_path(path: Any) -> str:
    return ".".join(str(part) for part in path) or "<top level>"


def _apply_defaults(instance: Any, schema: dict, root: dict) -> None:
    """Fill ``default`` values of the schema into ``instance`` in place, recursively."""
    if "$ref" in schema:
        schema = _resolve(schema["$ref"], root)
    if not isinstance(instance, dict):
        return
    properties = schema.get("properties", {})
    for key, sub in properties.items():
        if key not in instance and "default" in sub:
            instance[key] = copy.deepcopy(sub["default"])
    for key, value in instance.items():
        if key in properties:
            _apply_defaults(value, properties[key], root)
        elif isinstance(schema.get("additionalProperties"), dict):
            _apply_defaults(value, schema["additionalProperties"], root)


def _resolve(ref: str, root: dict) -> dict:
    node: Any = root
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


# How PyYAML (YAML 1.1) reads what a YAML 1.2 reader, or a person, takes for a number.
YAML11_FLOAT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$")
YAML11_BOOLEANS = "yes/no/on/off/true/false, unquoted"


def _yaml11_hint(error: jsonschema.ValidationError, where: str) -> str | None:
    """A type error that comes from YAML 1.1 parsing, explained with its fix."""
    types = (
        error.validator_value
        if isinstance(error.validator_value, list)
        else [error.validator_value]
    )
    value = error.instance
    if isinstance(value, bool) and "boolean" not in types:
        return (
            f"{where}: {value!r} is a boolean, expected {' or '.join(map(str, types))}: YAML 1.1 "
            f"reads {YAML11_BOOLEANS}, as a boolean; quote the value (e.g. 'yes')"
        )
    if isinstance(value, str) and {"number", "integer"} & set(types) and YAML11_FLOAT.match(value):
        mantissa, _, exponent = value.lower().partition("e")
        mantissa += "" if "." in mantissa else ".0"
        exponent = exponent if exponent[0] in "+-" else f"+{exponent}"
        return (
            f"{where}: {value!r} is a string, not a number: PyYAML (YAML 1.1) reads a number "
            f"with an exponent as a float only with a dot and a signed exponent; write "
            f"{mantissa}e{exponent}"
        )
    return None


def _bool_keys(node: Any, path: list[Any]) -> None:
    """Refuse mapping keys that YAML 1.1 turned into booleans (``{yes: 1, no: 0}``)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(key, bool):
                raise ConfigError(
                    f"{_key_path(path)}: key {key!r} is a boolean: YAML 1.1 reads "
                    f"{YAML11_BOOLEANS}, as true/false, even as a key; quote the keys "
                    "(e.g. {'yes': 1, 'no': 0})"
                )
            _bool_keys(value, [*path, key])
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _bool_keys(value, [*path, i])


def _describe(error: jsonschema.ValidationError) -> str:
    where = _key_path(error.absolute_path)
    if error.validator == "type":
        hint = _yaml11_hint(error, where)
        if hint:
            return hint
    if error.validator == "enum":
        return f"{where}: {error.instance!r} is not allowed; use one of {error.validator_value}"
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        return f"{where}: unknown key(s) {extra}; allowed keys are {allowed}"
    if error.validator == "minItems" and not error.instance:
        return f"{where}: the list is empty; give at least {error.validator_value} value(s)"
    bound = {"exclusiveMinimum": ">", "minimum": ">=", "exclusiveMaximum": "<", "maximum": "<="}
    if error.validator in bound:
        return f"{where}: {error.instance!r} is out of range; it must be {bound[error.validator]} {error.validator_value}"
    if error.validator == "anyOf" and error.context:
        # Report the alternative the value was meant for: the one whose type it has.
        relevant = [e for e in error.context if e.validator != "type"] or error.context
        return _describe(jsonschema.exceptions.best_match(relevant))
    return f"{where}: {error.message}"


def load_schema(path: str | Path) -> dict:
    """The schema, its architecture enum set to the registry's names (extra modules
    included); tests check the enum written in the file equals the built-in names."""
    from rnnbench import registry

    with open(path, encoding="utf-8") as handle:
        schema = yaml.safe_load(handle)
    arch = schema.get("$defs", {}).get("arch")
    if isinstance(arch, dict) and "enum" in arch:
        arch["enum"] = list(registry.names())
    return schema


def validate_config(config: dict, schema_path: str | Path) -> list[str]:
    """Validate ``config`` in place (filling defaults); return warnings; raise ConfigError."""
    schema = load_schema(schema_path)
    _bool_keys(config, [])
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [_describe(err) for err in errors[:10]]
        raise ConfigError("invalid config:\n  " + "\n  ".join(lines))
    _apply_defaults(config, schema, schema)
    return _check_semantics(config)


def _check_semantics(config: dict) -> list[str]:
    notes: list[str] = []
    datasets = config["datasets"]
    for name in config["datasets_to_run"]:
        if name not in datasets:
            raise ConfigError(
                f"datasets_to_run: {name!r} is not a configured dataset; "
                f"configured: {sorted(datasets)}"
            )
    for name, ds in datasets.items():
        key = f"datasets.{name}"
        task, fmt = ds["task"], ds["format"]
        if fmt not in FORMATS_BY_TASK[task]:
            raise ConfigError(
                f"{key}.format: {fmt!r} does not serve task {task!r}; "
                f"use one of {sorted(FORMATS_BY_TASK[task])}"
            )
        if "grid" not in ds:
            raise ConfigError(f"{key}.grid: missing; give at least grid.lengths, e.g. [120]")
        notes += _check_tuning(name, ds)
        if task == "memory":
            if folds_of(ds) is not None:
                raise ConfigError(
                    f"{key}.split.folds: the memory task is generated with its own splits; "
                    "remove `split.folds`"
                )
            notes += _check_synthetic(key, ds, config["memory_budget_gib"])
            continue
        if fmt == "lines":
            _check_lines(key, ds)
        else:
            _check_one_file_per_source(key, ds)
        _check_folds(key, ds)
        fractions = ds["split"]["fractions"]
        if abs(sum(fractions.values()) - 1.0) > 1e-6:
            raise ConfigError(
                f"{key}.split.fractions: {fractions} sum to {sum(fractions.values()):g}, not 1"
            )
        if "batch_size" in ds["text"]:
            notes.append(
                f"{key}.text.batch_size is ignored (spaCy's tokenizer reads text by text "
                "whatever the batch size) and reruns nothing; remove it"
            )
        for source_key, source in dataset_sources(name, ds).items():
            if source["sha256"] is None and is_remote(source["url"]):
                notes.append(
                    f"{key}: remote source {source['url']} ({source_key}) has no sha256; it will "
                    "be downloaded unverified and its hash written to the fetch log so you can pin it"
                )
    return notes


def _check_tuning(name: str, ds: dict) -> list[str]:
    """grid.tune beyond the schema (rnnbench.tuning.check_tuning), and a note when the
    tuning seed is also a final seed (that seed's run repeats the selected trial)."""
    from rnnbench.tuning import check_tuning, tune_config

    check_tuning(name, ds)
    tune = tune_config(ds)
    if tune is not None and tune["seed"] in ds["grid"]["seeds"]:
        return [
            f"datasets.{name}.grid.tune.seed: {tune['seed']} is also a grid seed; that seed's "
            "final runs repeat the trial their lr was selected on (validation scores biased up)"
        ]
    return []


def _check_one_file_per_source(key: str, ds: dict) -> None:
    fmt = ds["format"]
    if ds.get("classes"):
        raise ConfigError(
            f"{key}.classes: one file per class is `format: lines`; format {fmt!r} reads "
            "its labels from the file: remove `classes` (in an overlay, set it to null)"
        )
    has_url, has_splits = bool(ds.get("url")), bool(ds.get("splits"))
    if has_url == has_splits:
        what = "both are set" if has_url else "neither is set"
        raise ConfigError(
            f"{key}: give either `url` (+ `sha256`) or `splits: {{train, test}}`; {what} "
            "(in an overlay, set `url: null` to switch a dataset to `splits`)"
        )
    if has_splits and fmt in ONE_FILE_FORMATS:
        raise ConfigError(f"{key}.splits: format {fmt!r} is one file; use `url`")
    for split, value in (ds.get("splits") or {}).items():
        if isinstance(value, dict) and "classes" in value:
            raise ConfigError(
                f"{key}.splits.{split}.classes: one file per class is `format: lines`; "
                f"give the {split} file as `url` for format {fmt!r}"
            )
        if isinstance(value, dict) and not value.get("url"):
            raise ConfigError(
                f"{key}.splits.{split}.url: missing; give the {split} file as "
                f"`{split}: {{url: ..., sha256: ..., options: {{...}}}}` (or a plain source)"
            )


def _check_lines(key: str, ds: dict) -> None:
    """`format: lines`: one file per class, at the top (`classes`, no split) or per split."""
    if ds.get("url"):
        raise ConfigError(
            f"{key}.url: format 'lines' reads one file per class; give "
            "`classes: {<label>: <source>, ...}` (or `splits: {train: {classes: {...}}, "
            "test: {classes: {...}}}`) instead of `url` (in an overlay, set `url: null`)"
        )
    has_classes, has_splits = bool(ds.get("classes")), bool(ds.get("splits"))
    if has_classes == has_splits:
        what = "both are set" if has_classes else "neither is set"
        raise ConfigError(
            f"{key}: format 'lines' needs either `classes: {{<label>: <source>, ...}}` (a corpus "
            "without a split) or `splits: {train: {classes: {...}}, test: {classes: {...}}}`; "
            f"{what}"
        )
    for split, value in (ds.get("splits") or {}).items():
        if not (isinstance(value, dict) and value.get("classes")) or value.get("url"):
            raise ConfigError(
                f"{key}.splits.{split}: format 'lines' reads one file per class; give "
                f"`{split}: {{classes: {{<label>: <source>, ...}}}}` (no `url`)"
            )


def folds_of(ds: dict) -> int | None:
    """The number of cross-validation folds of a dataset (``split.folds``); None without."""
    return (ds.get("split") or {}).get("folds")


def _check_folds(key: str, ds: dict) -> None:
    """k-fold cross-validation needs a corpus without an official test split."""
    if folds_of(ds) is None:
        return
    official = None
    if ds.get("splits"):
        official = "`splits` gives its test split"
    elif ds["format"] == "aclimdb":
        official = "aclimdb has an official train/test split"
    if official:
        raise ConfigError(
            f"{key}.split.folds: k-fold cross-validation is for a corpus without a test split, "
            f"but {official}; remove `split.folds`, or give the whole corpus as one source "
            "(`url`, or `classes` for format lines)"
        )


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


def _check_synthetic(key: str, ds: dict, budget_gib: float) -> list[str]:
    if "synthetic" not in ds:
        raise ConfigError(f"{key}.synthetic: missing; give samples: {{train, validation, test}}")
    for source_key in ("url", "splits"):
        if ds.get(source_key):
            raise ConfigError(
                f"{key}.{source_key}: the memory task is generated, not read; remove "
                f"`{source_key}` (or set it to null in an overlay)"
            )
    examples = sum(ds["synthetic"]["samples"].values())
    for length in ds["grid"]["lengths"]:
        try:
            signal_index(ds["synthetic"]["signal_position"], length)
        except ValueError as err:
            raise ConfigError(f"{key}.synthetic.signal_position: {err}") from None
        # float32 values (two per step for the marker variant) + int32 lengths + int64 labels
        per_position = 8 if ds["synthetic"].get("marker") else 4
        check_array_budget(f"{key}.grid.lengths", examples, length, per_position, budget_gib)
    return []


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
    if ds["task"] == "memory":
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


def warn_all(notes: list[str]) -> None:
    for note in notes:
        warnings.warn(note, stacklevel=2)


def grid_cells(name: str, ds: dict) -> list[dict]:
    """Every (arch, optimizer, length, seed) cell of a dataset's grid, in config order; with
    ``split.folds: k`` every cell once per fold (``fold`` 0 .. k-1, before the seed)."""
    grid = ds["grid"]
    folds = folds_of(ds)
    return [
        {
            "dataset": name,
            "arch": arch,
            "optimizer": opt,
            "length": length,
            **({} if fold is None else {"fold": fold}),
            "seed": seed,
        }
        for arch in grid.get("archs", [])
        for opt in grid["optimizers"]
        for length in grid["lengths"]
        for fold in (range(folds) if folds else [None])
        for seed in grid["seeds"]
    ]


RUN_DIR = "results/runs/{dataset}/{arch}/{optimizer}/len{length}/seed{seed}"
# A cross-validated dataset's cell: one run directory per fold and seed.
FOLD_RUN_DIR = "results/runs/{dataset}/{arch}/{optimizer}/len{length}/fold{fold}/seed{seed}"


def run_dir(cell: dict) -> str:
    """A cell's run directory (relative to the working directory)."""
    return (FOLD_RUN_DIR if cell.get("fold") is not None else RUN_DIR).format(**cell)


def cell_spec(ds: dict, cell: dict) -> dict:
    """The training spec of one cell: grid hparams, then per-arch, then per-optimizer."""
    grid = ds["grid"]
    hparams = {
        **grid["hparams"],
        **grid["per_arch"].get(cell["arch"], {}),
        **grid["per_optimizer"].get(cell["optimizer"], {}),
    }
    return {**cell, "hparams": hparams}


def validate_grids(config: dict) -> None:
    """Resolve every cell's training spec now, so a bad hyperparameter fails at `-n`.

    The model keys are checked by the architecture's config in rnnbench.registry, and its
    constraints against the task and length by the registry entry: the same definitions
    the training job builds the model with.
    """
    from rnnbench import registry
    from rnnbench.train.spec import SpecError, resolve_spec  # imports torch: only when needed
    from rnnbench.tuning import validate_tuning

    for name in config["datasets_to_run"]:
        ds = config["datasets"][name]
        for cell in grid_cells(name, ds):
            where = f"datasets.{name}.grid (arch {cell['arch']}, optimizer {cell['optimizer']})"
            spec = cell_spec(ds, cell)
            try:
                arch = registry.get(cell["arch"])
                keys = set(registry.model_keys())
                model = {k: v for k, v in spec["hparams"].items() if k in keys}
                arch.check_input(registry.resolve(cell["arch"], model), ds["task"], cell["length"])
            except registry.ModelConfigError as err:
                raise ConfigError(f"{where}: {err}{_set_at(name, ds, cell, err.key)}") from None
            try:
                resolve_spec(spec)
            except SpecError as err:
                raise ConfigError(f"{where}: {err}") from None
        validate_tuning(name, ds)


def _set_at(name: str, ds: dict, cell: dict, key: str | None) -> str:
    """Where a grid's model key is set: the last of hparams, per_arch, per_optimizer."""
    grid = ds["grid"]
    layers = [
        ("hparams", grid["hparams"]),
        (f"per_arch.{cell['arch']}", grid["per_arch"].get(cell["arch"], {})),
        (f"per_optimizer.{cell['optimizer']}", grid["per_optimizer"].get(cell["optimizer"], {})),
    ]
    found = [layer for layer, hparams in layers if key is not None and key in hparams]
    return f" (set at datasets.{name}.grid.{found[-1]}.{key})" if found else ""


def memory_grid_config(
    grid: dict[str, Any], samples: dict[str, int], hparams: dict[str, Any]
) -> dict[str, Any]:
    """A whole config with one synthetic memory-task dataset, ``mem``, training ``grid``.

    The smallest real workflow (nothing to download): the tests and the workflow-scale
    benchmark build their grids with it.
    """
    return {
        "datasets_to_run": ["mem"],
        "datasets": {
            "mem": {
                "task": "memory",
                "format": "synthetic",
                "synthetic": {
                    "samples": dict(samples),
                    "signal_position": {"from_end": 2},
                    "seed": 0,
                },
                "grid": {**grid, "hparams": dict(hparams)},
            }
        },
    }


def load_config_file(path: str | Path) -> dict:
    """One YAML (or JSON) config file; a syntax error names the file, line and column."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except OSError as err:
        raise ConfigError(f"{path}: cannot read it ({err.strerror})") from None
    except yaml.MarkedYAMLError as err:
        mark, opened = err.problem_mark, err.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        if opened and (not mark or opened.line != mark.line):
            where += f" ({err.context} that opened on line {opened.line + 1})"
        raise ConfigError(
            f"{path}: {where}: not valid YAML: {err.problem}; check the brackets and quotes "
            "there, and indent with spaces (never tabs)"
        ) from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML ({err})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: a config is a mapping of keys; this file holds a {type(data).__name__}"
        )
    return data


def check_config_files(paths: list[str | Path], schema_path: str | Path) -> list[str]:
    """Merge config files as Snakemake does (``config.yaml`` first, then each overlay) and
    validate the result; a YAML error names its file and line (Snakemake's does not)."""
    from snakemake.utils import update_config

    merged: dict = {}
    for path in paths:
        update_config(merged, load_config_file(path))
    notes = validate_config(merged, schema_path)
    validate_grids(merged)
    return notes
