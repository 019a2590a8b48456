"""What a training cell will cost, known before it runs: its parameter count and an
estimate of the memory it needs (weights, gradients, optimizer state, activations at its
batch size and sequence length), from the registry's model configs alone.

No torch here: the Snakefile checks every cell with it when it is parsed (`snakemake
-n`), so a model that cannot fit its job's memory fails there, naming the cell, instead
of dying in training with an allocation traceback. The parameter counts are exact (a
test compares them with the built models); the activation figure is an estimate of what
backpropagation keeps per position, meant to catch orders of magnitude, not to budget
to the megabyte.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnbench import registry
from rnnbench.experiment.tasks import task_of

FLOAT_BYTES = 4  # float32 weights, gradients, optimizer state and activations
# Tensors of the optimizer's state per parameter (torch.optim: momentum buffers, running
# averages); an optimizer not listed is assumed to keep two, as Adam does.
OPTIMIZER_STATES = {
    "sgd": 0,
    "sgd_momentum": 1,
    "nag": 1,
    "rmsprop": 1,
    "adadelta": 2,
    "adam": 2,
    "adamw": 2,
}
RUNTIME_BYTES = 400 * 2**20  # the Python process, torch and the data loader, roughly
TEXT_EMBEDDING_DIM = 16  # models/encoders.py's default for text
GATES = {"rnn": 1, "lstm": 4, "gru": 3}
CELL_GATES = {"rnn_cell": 1, "lstm_cell": 4, "gru_cell": 3, "lstm_peephole": 4, "lstm_cifg": 3}
MIN_GATES = {"mingru": 2, "minlstm": 3}


@dataclass(frozen=True)
class CellCost:
    """A cell's parameter count and memory estimate, in bytes."""

    params: int
    weights: int
    gradients: int
    optimizer_state: int
    activations: int

    @property
    def total(self) -> int:
        return (
            self.weights
            + self.gradients
            + self.optimizer_state
            + self.activations
            + (RUNTIME_BYTES)
        )

    def describe(self) -> str:
        """``1,234 params, ~1.2 GB (weights 5 KB, gradients ..., activations ...)``."""
        parts = (
            ("weights", self.weights),
            ("gradients", self.gradients),
            ("optimizer state", self.optimizer_state),
            ("activations", self.activations),
            ("runtime", RUNTIME_BYTES),
        )
        shown = ", ".join(f"{name} {human_bytes(size)}" for name, size in parts)
        return f"{self.params:,} params, ~{human_bytes(self.total)} ({shown})"


def human_bytes(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError  # unreachable


def _linear(n_in: int, n_out: int) -> int:
    return n_in * n_out + n_out


def _encoder(vocab_size: int, embedding_dim: int | None, channels: int) -> tuple[int, int]:
    """(parameters, output width) of models/encoders.build_encoder."""
    if vocab_size > 0:
        dim = TEXT_EMBEDDING_DIM if embedding_dim is None else embedding_dim
        return vocab_size * dim, dim
    if not embedding_dim:
        return 0, channels
    return _linear(channels, embedding_dim), embedding_dim


def _body(arch: str, cfg: Any, dim: int, length: int, per_token: bool) -> tuple[int, int, int]:
    """(parameters, output features, activation floats kept per position) of the body."""
    if arch == "flatten":
        return 0, length * dim, 0
    if arch == "cnn":
        conv = dim * cfg.conv_filters * cfg.conv_kernel + cfg.conv_filters
        return conv, cfg.conv_filters, 2 * cfg.conv_filters
    base = arch.removeprefix("bi")
    known = arch == "transformer" or base in GATES or base in MIN_GATES or arch in CELL_GATES
    if not known:  # registered elsewhere: no estimate of its own
        raise KeyError(arch)
    hidden, layers = cfg.hidden, cfg.layers
    if arch == "transformer":
        return _transformer(cfg, dim, length, per_token)
    directions = 2 if registry.get(arch).bidirectional else 1
    out = hidden * directions
    if arch.removeprefix("bi") in GATES:
        gates = GATES[arch.removeprefix("bi")]
        per_layer = lambda n_in: gates * (hidden * n_in + hidden * hidden + 2 * hidden)  # noqa: E731
        kept = (gates + 2) * hidden
    elif arch in CELL_GATES:
        gates, directions = CELL_GATES[arch], 1
        peep = 3 * hidden if arch == "lstm_peephole" else 0
        per_layer = lambda n_in: gates * (hidden * n_in + hidden * hidden + 2 * hidden) + peep  # noqa: E731
        kept = (2 * gates + 4) * hidden
        out = hidden
    elif arch.removeprefix("bi") in MIN_GATES:
        gates = MIN_GATES[arch.removeprefix("bi")]
        per_layer = lambda n_in: _linear(n_in, gates * hidden)  # noqa: E731
        kept = (2 * gates + 4) * hidden
    else:  # an architecture registered elsewhere: no estimate of its own
        raise KeyError(arch)
    sizes = [dim] + [out] * (layers - 1)
    params = directions * sum(per_layer(n_in) for n_in in sizes)
    return params, out, kept * directions * layers


def _transformer(cfg: Any, dim: int, length: int, per_token: bool) -> tuple[int, int, int]:
    width = cfg.hidden
    ff = cfg.ff_hidden or 4 * width
    cls = not per_token and cfg.pooling == "cls"
    positions = (length + cls) * width if cfg.positions == "learned" else 0
    layer = 4 * _linear(width, width) + _linear(width, ff) + _linear(ff, width) + 4 * width
    params = (
        (_linear(dim, width) if dim != width else 0)
        + positions
        + (width if cls else 0)
        + cfg.layers * layer
        + 2 * width  # the final LayerNorm
    )
    # per position and layer: q, k, v, attention output, two norms, residuals, the
    # feed-forward's two activations, and each head's row of attention probabilities
    kept = cfg.layers * (12 * width + 2 * ff + 2 * cfg.heads * (length + cls))
    return params, width, kept


def _head(features: int, hidden: int, outputs: int) -> int:
    if hidden > 0:
        return _linear(features, hidden) + _linear(hidden, outputs)
    return _linear(features, outputs)


def cell_cost(
    arch: str,
    model_hparams: dict[str, Any] | None,
    *,
    task: str,
    length: int,
    vocab_size: int,
    num_classes: int,
    optimizer: str,
    batch_size: int,
    input_channels: int = 1,
) -> CellCost:
    """The cost of training ``arch`` with ``model_hparams`` (model keys only) on a dataset
    of ``vocab_size`` ids (0: the memory task's scalars) and ``num_classes`` labels (tags),
    at ``length`` and ``batch_size``, with ``optimizer``."""
    cfg = registry.resolve(arch, model_hparams)
    per_token = task_of(task).tags_tokens
    encoder, dim = _encoder(vocab_size, cfg.embedding_dim, input_channels)
    body, features, kept = _body(arch, cfg, dim, length, per_token)
    outputs = task_of(task).output_units(num_classes)
    head = _head(features, cfg.head_hidden, outputs)
    params = encoder + body + head
    # per position: the encoder's output, what the body keeps, and for NER the head's
    # activations; the head of a sequence task runs once per row
    per_position = dim + kept + (cfg.head_hidden + outputs if per_token else 0)
    per_row = 0 if per_token else features + cfg.head_hidden + outputs
    activations = FLOAT_BYTES * batch_size * (length * per_position + per_row)
    weights = FLOAT_BYTES * params
    return CellCost(
        params=params,
        weights=weights,
        gradients=weights,
        optimizer_state=OPTIMIZER_STATES.get(optimizer, 2) * weights,
        activations=activations,
    )


# --- the parse-time check --------------------------------------------------------------

ASSUMED_VOCAB = 100_000  # a text corpus's vocabulary before the data stage has counted it
ASSUMED_TAGS = 20  # an NER corpus's tag set before the data stage has read it


def dataset_shape(name: str, ds: dict[str, Any], prepared: str | Path) -> dict[str, Any]:
    """``vocab_size``, ``num_classes`` and ``input_channels`` of a dataset for
    :func:`cell_cost`: the prepared vocabulary's when the data stage has run, else what
    the config bounds (``vocab.max_size``, declared labels), else an assumption."""
    task = task_of(ds["task"])
    if task.generated:  # no vocabulary: the generator's config is the shape
        channels = 2 if (ds.get("synthetic") or {}).get("marker") else 1
        return {"vocab_size": 0, "num_classes": 2, "input_channels": channels}
    vocab_path = Path(prepared) / name / "vocab.json"
    if vocab_path.exists():
        try:
            vocab = json.loads(vocab_path.read_text(encoding="utf-8"))
            return {
                "vocab_size": len(vocab["tokens"]),
                "num_classes": max(2, len(vocab["label_names"])),
                "input_channels": 1,
            }
        except (OSError, ValueError, KeyError, TypeError):
            pass  # a damaged vocabulary: its job reruns; estimate from the config
    max_size = (ds.get("vocab") or {}).get("max_size")
    labels = ((ds.get("options") or {}).get("labels")) or None
    names = labels.get("names") if isinstance(labels, dict) else labels
    classes = len(names) if names else (ASSUMED_TAGS if task.tags_tokens else 2)
    return {
        "vocab_size": max_size or ASSUMED_VOCAB,
        "num_classes": classes,
        "input_channels": 1,
    }


def over_budget(
    cells: Iterable[tuple[str, dict[str, Any]]], limit_bytes: float, what: str
) -> list[str]:
    """One message per cell (``(name, cell_cost keyword arguments)``) whose estimate
    exceeds ``limit_bytes`` (of ``what``: "the train job's mem_mb 3000"), each cost
    computed once however many seeds share it."""
    problems = []
    seen: dict[str, CellCost] = {}
    for name, kwargs in cells:
        key = json.dumps(kwargs, sort_keys=True, default=str)
        try:
            cost = seen.get(key) or cell_cost(**kwargs)
        except KeyError:  # an architecture registered elsewhere: no estimate of its own
            continue
        seen[key] = cost
        if cost.total > limit_bytes:
            problems.append(f"{name}: {cost.describe()}, over {what} ({human_bytes(limit_bytes)})")
    return problems


TRAIN_MEM_MB = 3000  # the train rule's mem_mb at its first attempt (workflow/rules/train.smk)


def _resource(value: Any) -> int | None:
    """An integer resource at the first attempt, as Snakemake's --set-resources gives it (a
    ``snakemake.resources.Resource``, ``N`` or ``N * attempt``); None for anything else,
    which then counts as unset."""
    if hasattr(value, "raw"):  # snakemake.resources.Resource
        value = value.raw
    if isinstance(value, str):
        value = re.sub(r"\s*\*\s*attempt\s*$", "", value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def grid_cost_problems(
    config: dict[str, Any],
    train_resources: dict[str, Any] | None = None,
    prepared: str | Path = "results/prepared",
) -> list[str]:
    """One message per cell of ``datasets_to_run`` whose estimate exceeds what its training
    job has: ``mem_mb`` (the train rule's, or ``train_resources``, Snakemake's
    set-resources for the rule), or with ``gpu: 1`` there ``cost_check.gpu_memory_gib``.
    ``config`` is validated (defaults filled in)."""
    from rnnbench.experiment.grid import cell_spec, grid_cells
    from rnnbench.experiment.spec import TRAINING_DEFAULTS

    resources = train_resources or {}
    check = config.get("cost_check") or {}
    if _resource(resources.get("gpu")):
        gib = check.get("gpu_memory_gib", 16)
        limit = gib * 2**30 + RUNTIME_BYTES  # the process itself is on the host
        what = f"cost_check.gpu_memory_gib {gib:g} (the train job has gpu: 1)"
    else:
        mem_mb = _resource(resources.get("mem_mb")) or TRAIN_MEM_MB
        limit, what = mem_mb * 2**20, f"the train job's mem_mb {mem_mb}"
    model_keys = set(registry.model_keys())
    cells = []
    for name in config["datasets_to_run"]:
        ds = config["datasets"][name]
        shape = dataset_shape(name, ds, prepared)
        for cell in grid_cells(name, ds):
            hparams = cell_spec(ds, cell)["hparams"]
            label = (
                f"datasets.{name}.grid (arch {cell['arch']}, optimizer {cell['optimizer']}, "
                f"length {cell['length']})"
            )
            kwargs = {
                "arch": cell["arch"],
                "model_hparams": {k: v for k, v in hparams.items() if k in model_keys},
                "task": ds["task"],
                "length": cell["length"],
                "optimizer": cell["optimizer"],
                "batch_size": hparams.get("batch_size") or TRAINING_DEFAULTS["batch_size"],
                **shape,
            }
            cells.append((label, kwargs))
    return over_budget(cells, limit, what)
