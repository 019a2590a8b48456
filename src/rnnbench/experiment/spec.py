"""The training spec: validation and defaults, resolved before any data is read.

A spec is a cell (``{"dataset", "arch", "optimizer", "length", "seed"}``, plus ``"fold"``
for a cell of a cross-validated dataset and ``"train_size"`` for a cell of a grid with
grid.train_sizes: the keys of rnnbench.experiment.grid) with
``"hparams": {...}``. ``hparams`` mixes model keys (checked by the architecture's config in
rnnbench.registry, the one ``build_model`` resolves again) and training keys (the fields
of :class:`TrainingConfig`); any other key is an error, so a typo never silently trains
with a default.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from rnnbench import registry
from rnnbench.errors import RnnbenchError
from rnnbench.experiment.grid import OPTIONAL_KEYS, REQUIRED_KEYS
from rnnbench.optimizers import resolve_options


class SpecError(RnnbenchError, ValueError):
    """The spec is invalid; the message names the key at fault."""


SPEC_KEYS: tuple[str, ...] = REQUIRED_KEYS
# Only in the spec of a cell that has them (absent otherwise, so the specs, params and
# metrics of every other cell are what they were).
OPTIONAL_SPEC_KEYS: tuple[str, ...] = OPTIONAL_KEYS
# Every model key of every registered architecture, and the recurrent ones (the registry's).
MODEL_KEYS: tuple[str, ...] = registry.model_keys()
RECURRENT_ARCHS: frozenset[str] = frozenset(registry.recurrent_names())
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")
# Mixed precision (hparams.amp): false = off; "bf16" / "fp16" = autocast to that dtype on
# whatever device runs the cell (fp16 with a GradScaler); true = the historical meaning,
# bf16 on a GPU (fp16 where the GPU has no bf16) and off on a CPU.
AMP_CHOICES: tuple[bool | str, ...] = (False, True, "bf16", "fp16")
# How an epoch's rows are cut into batches (train.batches.epoch_batches): "shuffled" =
# consecutive rows of the epoch's permutation; "by_length" = rows of similar length
# together (less padding, other batches, so other numbers: opt-in).
BATCHINGS: tuple[str, ...] = ("shuffled", "by_length")
RECURRENT_CLIP_NORM = 1.0  # seed E: LSTM still explodes without clipping


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _count(default: int | None, *, optional: str | None = None) -> Any:
    """An integer >= 1; ``optional``: or null, which means that (e.g. "no early stopping")."""
    return field(default=default, metadata={"kind": "count", "null": optional})


def _choice(default: Any, choices: tuple[Any, ...], wording: str) -> Any:
    return field(default=default, metadata={"kind": "choice", "choices": choices, "say": wording})


def _optimizer_option() -> Any:
    """lr, weight_decay, momentum: None = the optimizer's default (optimizers.resolve_options)."""
    return field(default=None, metadata={"kind": "optimizer"})


@dataclass(frozen=True)
class TrainingConfig:
    """The training hyperparameters of a spec (every ``hparams`` key that is no model key),
    each checked by its field's kind; None for lr/weight_decay/momentum/clip_norm means
    "the optimizer's / the arch's default" (filled in by :func:`resolve_spec`)."""

    epochs: int = _count(10)
    batch_size: int = _count(128)
    lr: float | None = _optimizer_option()
    weight_decay: float | None = _optimizer_option()
    momentum: float | None = _optimizer_option()
    clip_norm: float | None = field(default=None, metadata={"kind": "clip"})
    patience: int | None = _count(3, optional="null (no early stopping)")
    device: str = _choice("auto", DEVICES, "")
    amp: bool | str = _choice(False, AMP_CHOICES, "false, bf16, fp16 or true (= bf16 on a GPU)")
    tf32: bool = _choice(False, (False, True), "true or false")  # TF32 matmuls on a GPU
    batching: str = _choice("shuffled", BATCHINGS, "")
    train_subsample: int | None = _count(None, optional="null")
    eval_subsample: int | None = _count(None, optional="null")

    def __post_init__(self) -> None:
        for f in fields(self):
            _check(f.name, getattr(self, f.name), f.metadata)


def _check(key: str, value: Any, meta: Any) -> None:
    """Raise SpecError naming ``hparams.<key>`` unless ``value`` fits the field's kind."""
    kind = meta["kind"]
    if kind == "count" and not (value is None and meta["null"]):
        if not _is_int(value) or value < 1:
            alternative = f" or {meta['null']}" if meta["null"] else ""
            raise SpecError(f"hparams.{key} must be an integer >= 1{alternative}, got {value!r}")
    elif kind == "clip" and value is not None and (not _is_number(value) or value < 0):
        raise SpecError(f"hparams.{key} must be a number >= 0 or null, got {value!r}")
    elif kind == "choice" and not _is_choice(value, meta["choices"]):
        say = meta["say"] or f"one of {list(meta['choices'])}"
        if key == "device":
            raise SpecError(f"hparams.device {value!r} is unknown; use {say}")
        raise SpecError(f"hparams.{key} must be {say}, got {value!r}")


def _is_choice(value: Any, choices: tuple[Any, ...]) -> bool:
    # `is` first: True == 1 and False == 0, which must not pass as a choice.
    return any(value is c or (isinstance(value, str) and value == c) for c in choices)


TRAINING_DEFAULTS: dict[str, Any] = {f.name: f.default for f in fields(TrainingConfig)}


@dataclass(frozen=True)
class TrainingSpec:
    dataset: str
    arch: str
    optimizer: str
    length: int
    seed: int
    training: dict[str, Any]  # every training key, resolved (device stays as asked)
    model: dict[str, Any]  # model keys as given; build_model fills its own defaults
    fold: int | None = None  # the cross-validation fold, if the dataset has folds
    train_size: int | None = None  # grid.train_sizes: training rows (None: the whole split)

    def identity(self) -> dict[str, Any]:
        identity = {key: getattr(self, key) for key in SPEC_KEYS}
        for key in OPTIONAL_SPEC_KEYS:
            if getattr(self, key) is not None:
                identity[key] = getattr(self, key)
        return identity

    def hparams(self) -> dict[str, Any]:
        return {**self.model, **self.training}

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check_identity(spec: dict[str, Any]) -> None:
    allowed = [*SPEC_KEYS, *OPTIONAL_SPEC_KEYS, "hparams"]
    unknown = sorted(set(spec) - set(allowed))
    if unknown:
        raise SpecError(f"unknown spec key(s) {unknown}; allowed: {allowed}")
    missing = [key for key in SPEC_KEYS if key not in spec]
    if missing:
        raise SpecError(f"spec is missing key(s) {missing}")
    for key in ("dataset", "arch", "optimizer"):
        if not isinstance(spec[key], str) or not spec[key]:
            raise SpecError(f"spec.{key} must be a non-empty string, got {spec[key]!r}")
    for key in ("length", "seed", *(k for k in OPTIONAL_SPEC_KEYS if k in spec)):
        if not _is_int(spec[key]) or spec[key] < 0:
            raise SpecError(f"spec.{key} must be a non-negative integer, got {spec[key]!r}")


def resolve_spec(spec: dict[str, Any]) -> TrainingSpec:
    """Validate ``spec`` and fill every training default; raise SpecError on any problem."""
    if not isinstance(spec, dict):
        raise SpecError(f"spec must be a JSON object, got {type(spec).__name__}")
    _check_identity(spec)
    hparams = spec.get("hparams") or {}
    if not isinstance(hparams, dict):
        raise SpecError(f"spec.hparams must be an object, got {hparams!r}")
    model_keys = registry.model_keys()  # extra modules may register after import
    unknown = sorted(set(hparams) - set(model_keys) - set(TRAINING_DEFAULTS))
    if unknown:
        raise SpecError(
            f"unknown hparam(s) {unknown}; allowed: {sorted([*model_keys, *TRAINING_DEFAULTS])}"
        )
    model = {k: v for k, v in hparams.items() if k in model_keys}
    try:
        arch = registry.get(spec["arch"])
        registry.resolve(spec["arch"], model)
    except registry.ModelConfigError as err:
        raise SpecError(f"hparams: {err}") from None
    config = TrainingConfig(**{k: v for k, v in hparams.items() if k in TRAINING_DEFAULTS})
    training = asdict(config)
    try:
        opts = resolve_options(
            spec["optimizer"],
            {k: training[k] for k in ("lr", "weight_decay", "momentum")},
        )
    except ValueError as err:
        raise SpecError(f"spec.optimizer / hparams: {err}") from None
    training.update({"lr": opts["lr"], "weight_decay": opts["weight_decay"]})
    training["momentum"] = opts.get("momentum")
    if training["clip_norm"] is None:
        training["clip_norm"] = RECURRENT_CLIP_NORM if arch.recurrent else None
    elif training["clip_norm"] == 0:
        training["clip_norm"] = None  # 0 is how a config says "no clipping"
    else:
        training["clip_norm"] = float(training["clip_norm"])
    return TrainingSpec(
        dataset=spec["dataset"],
        arch=spec["arch"],
        optimizer=spec["optimizer"],
        length=int(spec["length"]),
        seed=int(spec["seed"]),
        training=training,
        model=model,
        fold=None if spec.get("fold") is None else int(spec["fold"]),
        train_size=None if spec.get("train_size") is None else int(spec["train_size"]),
    )
