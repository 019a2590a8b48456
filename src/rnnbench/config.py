"""The config, loaded and validated in one place: the JSON schema, its defaults, and the
checks a schema cannot express (tuning, and every grid cell against the registry).

Everything here runs when the Snakefile is parsed, so a bad config fails at
``snakemake -n`` before any job starts, with a message naming the key. The Snakefile,
``rnnbench progress`` and ``rnnbench check-config`` all go through :func:`prepare_config`
(and the last two load the files with :func:`load_config`).
"""

from __future__ import annotations

import copy
import re
import warnings
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from rnnbench.cost import grid_cost_problems
from rnnbench.errors import ConfigError
from rnnbench.experiment import paths
from rnnbench.experiment.grid import (
    axis_values,
    cell_spec,
    folds_of,
    grid_cells,
    grid_from_list,
    set_at,
)
from rnnbench.experiment.sources import (
    ONE_FILE_FORMATS,
    check_array_budget,
    dataset_sources,
    is_remote,
    signal_index,
)
from rnnbench.experiment.spec import SpecError, resolve_spec
from rnnbench.experiment.tasks import TASKS
from rnnbench.experiment.tuning import check_tuning, tune_config, validate_tuning
from rnnbench.published_names import published_name_problems

# The schema, relative to the workflow directory (or the repository the package is in).
SCHEMA = Path("workflow") / "schemas" / "config.schema.yaml"


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
    if error.validator == "required":
        missing = [key for key in error.validator_value if key not in error.instance]
        return f"{where}: missing {missing}"
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


def validate_part(value: Any, pointer: str, where: str, schema: str | Path | None = None) -> Any:
    """``value`` validated against one part of the config schema (``pointer``, e.g.
    ``properties/published/items``) with its defaults filled in (a copy); ConfigError
    names ``where`` and the key. For commands given a part of a config as JSON."""
    root = load_schema(schema or schema_path())
    part = {**_resolve(pointer, root), "$defs": root.get("$defs", {})}
    value = copy.deepcopy(value)
    errors = sorted(
        jsonschema.Draft202012Validator(part).iter_errors(value),
        key=lambda e: list(e.absolute_path),
    )
    if errors:
        lines = [_describe(err) for err in errors[:10]]
        raise ConfigError(f"{where}: " + "\n  ".join(lines).replace("<top level>", "entry"))
    _apply_defaults(value, part, part)
    return value


def validate_config(config: dict, schema_path: str | Path) -> list[str]:
    """Validate ``config`` in place (filling defaults); return warnings; raise ConfigError."""
    schema = load_schema(schema_path)
    for ds in (config.get("datasets") or {}).values():
        if isinstance(ds, dict) and "grid" in ds:  # grid: [<grid>, <block>, ...]
            ds["grid"] = grid_from_list(ds["grid"])
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
        task, fmt = TASKS[ds["task"]], ds["format"]
        if fmt not in task.formats:
            raise ConfigError(
                f"{key}.format: {fmt!r} does not serve task {task.name!r}; "
                f"use one of {sorted(task.formats)}"
            )
        if "grid" not in ds:
            raise ConfigError(f"{key}.grid: missing; give at least grid.lengths, e.g. [120]")
        notes += _check_tuning(name, ds)
        _check_train_sizes(name, ds)
        if task.generated:
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


def training_split_count(name: str, ds: dict) -> int | None:
    """The examples of a dataset's training split where they are known before it is
    prepared (the memory task's synthetic.samples.train) or once it is (the prepared
    split's lines); None otherwise (the training job checks then)."""
    if TASKS[ds["task"]].generated:
        return int(ds["synthetic"]["samples"]["train"])
    split = Path(paths.split_file(paths.prepared_dir(name), "train"))
    if not split.exists():
        return None
    with open(split, "rb") as handle:
        return sum(1 for line in handle if line.strip())


def _check_train_sizes(name: str, ds: dict) -> None:
    """grid.train_sizes beyond the schema: each within the training split (where its
    count is known at parse time), and no cross-validation beside it."""
    sizes = axis_values(ds, "train_sizes")  # over every block of the grid
    if not sizes:
        return
    key = f"datasets.{name}.grid.train_sizes"
    if folds_of(ds) is not None:
        raise ConfigError(f"{key}: not supported with split.folds; remove one of the two")
    count = training_split_count(name, ds)
    if count is not None and max(sizes) > count:
        raise ConfigError(
            f"{key}: {max(sizes):,} is larger than the training split of dataset {name!r}, "
            f"which holds {count:,} examples; use sizes <= {count:,}"
        )


def _check_tuning(name: str, ds: dict) -> list[str]:
    """grid.tune beyond the schema (rnnbench.experiment.tuning.check_tuning), and a note when the
    tuning seed is also a final seed (that seed's run repeats the selected trial)."""
    check_tuning(name, ds)
    tune = tune_config(ds)
    if tune is not None and tune["seed"] in axis_values(ds, "seeds"):
        return [
            f"datasets.{name}.grid.tune.seed: {tune['seed']} is also a grid seed; that seed's "
            "final runs repeat the trial their lr was selected on (validation scores biased up)"
        ]
    return []


def _not_exactly_one(first: bool, second: bool) -> str:
    """Why two alternative keys are not exactly one ("both are set", "neither is set");
    empty when exactly one is set."""
    if first != second:
        return ""
    return "both are set" if first else "neither is set"


def _check_one_file_per_source(key: str, ds: dict) -> None:
    fmt = ds["format"]
    if ds.get("classes"):
        raise ConfigError(
            f"{key}.classes: one file per class is `format: lines`; format {fmt!r} reads "
            "its labels from the file: remove `classes` (in an overlay, set it to null)"
        )
    has_splits = bool(ds.get("splits"))
    what = _not_exactly_one(bool(ds.get("url")), has_splits)
    if what:
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
    what = _not_exactly_one(bool(ds.get("classes")), bool(ds.get("splits")))
    if what:
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


def _check_folds(key: str, ds: dict) -> None:
    """k-fold cross-validation needs a corpus without an official test split."""
    if folds_of(ds) is None:
        return
    if tune_config(ds) is not None:
        raise ConfigError(
            f"{key}.split.folds: learning-rate tuning (grid.tune) is not done per fold: its "
            "trials would run on a split the folds do not use; remove `grid.tune` or "
            "`split.folds`"
        )
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
    for length in axis_values(ds, "lengths"):
        try:
            signal_index(ds["synthetic"]["signal_position"], length)
        except ValueError as err:
            raise ConfigError(f"{key}.synthetic.signal_position: {err}") from None
        # float32 values (two per step for the marker variant) + int32 lengths + int64 labels
        per_position = 8 if ds["synthetic"].get("marker") else 4
        check_array_budget(f"{key}.grid.lengths", examples, length, per_position, budget_gib)
    return []


def warn_all(notes: list[str]) -> None:
    for note in notes:
        warnings.warn(note, stacklevel=2)


def validate_grids(config: dict) -> None:
    """Resolve every cell's training spec now, so a bad hyperparameter fails at `-n`.

    The model keys are checked by the architecture's config in rnnbench.registry, and its
    constraints against the task and length by the registry entry: the same definitions
    the training job builds the model with.
    """
    from rnnbench import registry

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
                raise ConfigError(f"{where}: {err}{set_at(name, ds, cell, err.key)}") from None
            try:
                resolve_spec(spec)
            except SpecError as err:
                raise ConfigError(f"{where}: {err}") from None
        validate_tuning(name, ds)


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


def schema_path(workdir: str | Path = ".") -> Path:
    """The config schema: the workflow directory's own, else the one beside the package.

    ``snakemake -d DIR`` runs in a directory without ``workflow/``; the package installed
    from the repository (editable, as the README sets it up) still finds the schema.
    """
    for root in (Path(workdir), Path(__file__).resolve().parents[2]):
        if (root / SCHEMA).is_file():
            return root / SCHEMA
    raise ConfigError(f"cannot find {SCHEMA} in {workdir} or beside the rnnbench package")


def load_config(paths: list[str | Path]) -> dict:
    """Config files merged as Snakemake merges them (``config.yaml`` first, then each
    overlay, with Snakemake's own ``update_config``); a YAML error names its file and line."""
    from snakemake.utils import update_config  # imported here: ~0.1 s other commands skip

    merged: dict = {}
    for path in paths:
        update_config(merged, load_config_file(path))
    return merged


def prepare_config(
    config: dict, schema: str | Path, train_resources: dict | None = None
) -> list[str]:
    """The one validation pass: the schema (its defaults filled in, in place), the checks
    it cannot express, every grid cell's and tuning trial's spec, the names the
    ``published`` entries use, and every cell's cost against its job's memory
    (``train_resources``: Snakemake's set-resources of the train rule). Returns the notes
    (warnings); raises ConfigError naming the key."""
    notes = validate_config(config, schema)
    validate_grids(config)
    problems = published_name_problems(config)
    if problems:
        raise ConfigError(
            "published: names that the config does not train (a typo?):\n  " + "\n  ".join(problems)
        )
    over = grid_cost_problems(config, train_resources)
    if over:
        fix = (
            "lower the model (hidden, layers, embedding_dim), batch_size or length; give the "
            "train job more memory (snakemake --set-resources train:mem_mb=N, or the Slurm "
            "profile's set-resources); or set cost_check: {over_budget: warn}"
        )
        if config["cost_check"]["over_budget"] != "warn":
            raise ConfigError(
                "training cell(s) that cannot fit their job's memory:\n  "
                + "\n  ".join(over)
                + f"\n{fix}"
            )
        notes += [f"{problem} (cost_check.over_budget: warn)" for problem in over]
    return notes


def check_config_files(paths: list[str | Path], schema: str | Path) -> list[str]:
    """Load and validate config files as the workflow does; return the notes."""
    return prepare_config(load_config(paths), schema)
