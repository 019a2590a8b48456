"""The architecture registry: every architecture is one :class:`Arch` entry here.

An entry holds the architecture's name, its model config dataclass (the model
hyperparameters with their defaults and checks), its builder (the body that turns encoded
inputs into features) and its capabilities: whether it can tag tokens (NER), whether it
is recurrent (reads positions in order, so gradient clipping is on by default), and, in
its config's :meth:`ModelConfig.check_input`, the constraints it puts on the task and
the sequence length.

This module imports no torch: the Snakefile validates every grid cell with it when it is
parsed (``snakemake -n``), and the training job resolves its model hyperparameters with
the very same definitions. Everything that lists architectures or model keys derives
them from here: ``rnnbench.names``, the schema's ``arch`` enum (filled in by
``rnnbench.config.validate_config``; the enum written in the schema file is checked
against :func:`names` by a test), ``rnnbench.experiment.spec``'s model keys, ``build_model``
and ``rnnbench summary``.

Adding an architecture: write a module with its body and a builder
``builder(name, meta, dim, config) -> nn.Module`` (the body takes ``(h [B, L, dim], lengths)``
and returns ``[B, F]``, or ``[B, L, F]`` when ``meta.task == "ner"``, and has
``out_features = F``), then add one :func:`register` line below (built-in) or in that
module (an extra module named in the ``RNNBENCH_ARCH_MODULES`` environment variable,
comma-separated, imported on first use).
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

INITS: tuple[str, ...] = ("keras", "torch")  # see rnnbench.models.init
TASKS: tuple[str, ...] = ("sentiment", "ner", "memory")
EXTRA_MODULES_ENV = "RNNBENCH_ARCH_MODULES"


class ModelConfigError(ValueError):
    """A model hyperparameter is unknown or invalid; the message names the key (``key``)."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


# --- field kinds: each carries its own check in the dataclass field's metadata ----------


def integer(default: int | None, minimum: int, doc: str, *, optional: bool = False) -> Any:
    """An integer >= minimum (``optional``: or null, meaning the default behaviour)."""
    return field(
        default=default,
        metadata={"kind": "int", "minimum": minimum, "optional": optional, "doc": doc},
    )


def fraction(default: float, doc: str) -> Any:
    """A number in [0, 1)."""
    return field(default=default, metadata={"kind": "fraction", "doc": doc})


def choice(default: str, choices: tuple[str, ...], doc: str) -> Any:
    return field(default=default, metadata={"kind": "choice", "choices": choices, "doc": doc})


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_value(key: str, value: Any, metadata: Any) -> None:
    """Raise ModelConfigError naming ``key`` unless ``value`` fits the field's kind."""
    kind = metadata["kind"]
    if kind == "int":
        if value is None and metadata["optional"]:
            return
        if not _is_int(value) or value < metadata["minimum"]:
            extra = " or null" if metadata["optional"] else ""
            raise ModelConfigError(
                f"model hparam {key!r} must be an integer >= {metadata['minimum']}{extra}, "
                f"got {value!r}",
                key,
            )
    elif kind == "fraction":
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1:
            raise ModelConfigError(
                f"model hparam {key!r} must be a number in [0, 1), got {value!r}", key
            )
    elif kind == "choice" and value not in metadata["choices"]:
        raise ModelConfigError(
            f"model hparam {key!r} must be one of {', '.join(metadata['choices'])}, got {value!r}",
            key,
        )


# --- model configs ----------------------------------------------------------------------


@dataclass(frozen=True)
class ModelConfig:
    """The keys every architecture takes: input encoder, head, dropout and init."""

    embedding_dim: int | None = integer(
        None,
        0,
        "token embedding size (text: default 16); memory task: null/0 feeds the scalar, "
        "> 0 adds a learned Linear(1, embedding_dim)",
        optional=True,
    )
    dropout: float = fraction(0.0, "dropout before the head and between layers")
    head_hidden: int = integer(6, 0, "width of the head's hidden Dense+ReLU layer; 0: none")
    init: str = choice("keras", INITS, "weight init: keras (Keras 3 defaults) or torch")

    def __post_init__(self) -> None:
        for f in fields(self):
            check_value(f.name, getattr(self, f.name), f.metadata)
        self.check()

    def check(self) -> None:
        """Checks across keys (after each key's own); raise ModelConfigError."""

    def check_input(self, task: str, length: int) -> None:
        """Constraints against the task and the sequence length; raise ModelConfigError."""
        if task != "memory" and self.embedding_dim == 0:
            raise ModelConfigError(
                "model hparam 'embedding_dim' must be >= 1 for text tasks, got 0", "embedding_dim"
            )


@dataclass(frozen=True)
class ConvConfig(ModelConfig):
    conv_filters: int = integer(128, 1, "Conv1D filters")
    conv_kernel: int = integer(5, 1, "Conv1D kernel width")

    def check_input(self, task: str, length: int) -> None:
        super().check_input(task, length)
        if task != "ner" and self.conv_kernel > length:  # NER convolves with 'same' padding
            raise ModelConfigError(
                f"conv_kernel {self.conv_kernel} is longer than the sequence length {length}; "
                f"lower conv_kernel (per_arch.cnn) or drop that length",
                "conv_kernel",
            )


@dataclass(frozen=True)
class RecurrentConfig(ModelConfig):
    hidden: int = integer(32, 1, "state size per direction (transformer: model width)")
    layers: int = integer(1, 1, "stacked layers")


@dataclass(frozen=True)
class TransformerConfig(RecurrentConfig):
    heads: int = integer(4, 1, "attention heads; must divide hidden")
    ff_hidden: int | None = integer(
        None, 1, "feed-forward width of each layer; null: 4 * hidden", optional=True
    )
    positions: str = choice("sinusoidal", ("sinusoidal", "learned"), "position encoding")
    pooling: str = choice(
        "mean", ("mean", "cls"), "classification: masked mean over real positions, or a CLS token"
    )

    def check(self) -> None:
        if self.hidden % self.heads:
            raise ModelConfigError(
                f"model hparam 'heads' ({self.heads}) must divide 'hidden' ({self.hidden})",
                "heads",
            )


# --- the registry -----------------------------------------------------------------------


@dataclass(frozen=True)
class Arch:
    """One architecture. ``builder`` is a callable or "module:function" (imported lazily,
    so that parse-time checks never import torch)."""

    name: str
    config: type[ModelConfig]
    builder: str | Callable[..., Any]
    per_token: bool = True  # can emit one output per token (NER)
    recurrent: bool = False  # reads positions in order: gradient clipping on by default
    # reads the sequence from both ends: on the memory task a signal k steps from either
    # end is then a k-step dependency, whatever the length (analysis.stats.dependency_steps)
    bidirectional: bool = False
    description: str = ""

    def build_body(self, meta: Any, dim: int, config: ModelConfig) -> Any:
        builder = self.builder
        if isinstance(builder, str):
            module, _, function = builder.partition(":")
            builder = getattr(importlib.import_module(module), function)
        return builder(self.name, meta, dim, config)

    def check_input(self, config: ModelConfig, task: str, length: int) -> None:
        """Every constraint of this arch against a dataset (task, length)."""
        if task == "ner" and not self.per_token:
            raise ModelConfigError(
                f"arch {self.name!r} reads a whole sequence into one vector and cannot tag "
                f"tokens (task 'ner'); remove it from the NER grid"
            )
        config.check_input(task, length)


_REGISTRY: dict[str, Arch] = {}
_EXTRAS_LOADED: list[str] = []


def register(arch: Arch) -> Arch:
    """Add ``arch``; a name may be registered once."""
    if arch.name in _REGISTRY:
        raise ValueError(f"arch {arch.name!r} is already registered")
    if not (isinstance(arch.config, type) and issubclass(arch.config, ModelConfig)):
        raise TypeError(f"arch {arch.name!r}: config must be a ModelConfig dataclass")
    _REGISTRY[arch.name] = arch
    return arch


def unregister(name: str) -> None:
    """Remove ``name`` (tests that register a dummy arch clean up with this)."""
    _REGISTRY.pop(name, None)


def _load_extras() -> None:
    for module in os.environ.get(EXTRA_MODULES_ENV, "").replace(",", " ").split():
        if module not in _EXTRAS_LOADED:
            _EXTRAS_LOADED.append(module)
            importlib.import_module(module)


def archs() -> dict[str, Arch]:
    _load_extras()
    return dict(_REGISTRY)


def names() -> tuple[str, ...]:
    """Every architecture name, in display order (registration order)."""
    return tuple(archs())


def recurrent_names() -> tuple[str, ...]:
    return tuple(name for name, arch in archs().items() if arch.recurrent)


def get(name: str) -> Arch:
    registry = archs()
    if name not in registry:
        raise ModelConfigError(f"unknown arch {name!r}; allowed: {', '.join(registry)}")
    return registry[name]


def model_fields() -> dict[str, dataclasses.Field]:
    """Every model key of every registered config, first declaration wins, in order."""
    out: dict[str, dataclasses.Field] = {}
    for arch in archs().values():
        for f in fields(arch.config):
            out.setdefault(f.name, f)
    return out


def model_keys() -> tuple[str, ...]:
    return tuple(model_fields())


def default_hparams() -> dict[str, Any]:
    """Each model key's default (as its first declaring config has it)."""
    return {name: f.default for name, f in model_fields().items()}


def resolve(arch: str, hparams: dict[str, Any] | None) -> ModelConfig:
    """``arch``'s config from a cell's hparams (model keys only; null = default).

    A grid's hparams reach every arch of the grid, so a key of another architecture
    (``conv_kernel`` for an LSTM) is allowed, checked by its own definition and unused;
    a key no architecture knows is an error.
    """
    entry = get(arch)
    hparams = dict(hparams or {})
    known = model_fields()
    unknown = sorted(set(hparams) - set(known))
    if unknown:
        raise ModelConfigError(
            f"unknown model hparam {unknown[0]!r}; allowed keys: {', '.join(known)}", unknown[0]
        )
    own = {f.name for f in fields(entry.config)}
    for key, value in hparams.items():
        if key not in own and value is not None:
            check_value(key, value, known[key].metadata)
    given = {k: v for k, v in hparams.items() if k in own and v is not None}
    return entry.config(**given)


def extra_module_files() -> list[str]:
    """Source files of the extra architecture modules (inputs of the training jobs)."""
    _load_extras()
    files = []
    for module in _EXTRAS_LOADED:
        path = getattr(sys.modules.get(module), "__file__", None)
        if path:
            files.append(str(Path(path).resolve()))
    return files


# --- the built-in architectures ---------------------------------------------------------

_BODIES = "rnnbench.models.build"
_FUSED = ("rnn", "lstm", "gru", "birnn", "bilstm", "bigru")
_CELLS = ("rnn_cell", "lstm_cell", "gru_cell", "lstm_peephole", "lstm_cifg")

register(
    Arch(
        "flatten",
        ModelConfig,
        f"{_BODIES}:build_flatten",
        per_token=False,
        description="all L position vectors concatenated (seed A's Flatten)",
    )
)
register(Arch("cnn", ConvConfig, f"{_BODIES}:build_cnn", description="Conv1D + global mean"))
for _name in _FUSED:
    _bi = _name.startswith("bi")
    register(
        Arch(_name, RecurrentConfig, f"{_BODIES}:build_fused", recurrent=True, bidirectional=_bi)
    )
for _name in _CELLS:
    register(Arch(_name, RecurrentConfig, f"{_BODIES}:build_cell", recurrent=True))
register(
    Arch(
        "transformer",
        TransformerConfig,
        "rnnbench.models.transformer:build_transformer",
        description="pre-LayerNorm Transformer encoder with a padding mask",
    )
)
for _name in ("mingru", "minlstm", "bimingru", "biminlstm"):
    register(
        Arch(
            _name,
            RecurrentConfig,
            "rnnbench.models.minrnn:build_minrnn",
            recurrent=True,
            bidirectional=_name.startswith("bi"),
            description="Feng et al. 2024, log-space parallel scan",
        )
    )
