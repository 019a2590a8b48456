"""The training spec: validation and defaults, resolved before any data is read.

A spec is ``{"dataset", "arch", "optimizer", "length", "seed", "hparams": {...}}``, plus
``"fold"`` for a cell of a cross-validated dataset (``split.folds``).
``hparams`` mixes model keys (checked here by the architecture's config in
rnnbench.registry, the one ``build_model`` resolves again) and training keys (resolved
here); any other key is an error, so a typo never silently trains with a default.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from rnnbench import registry
from rnnbench.errors import RnnbenchError
from rnnbench.train.optimizers import resolve_options


class SpecError(RnnbenchError, ValueError):
    """The spec is invalid; the message names the key at fault."""


SPEC_KEYS: tuple[str, ...] = ("dataset", "arch", "optimizer", "length", "seed")
# Only in the spec of a cross-validated dataset's cell (absent otherwise, so the specs,
# params and metrics of every other cell are what they were).
OPTIONAL_SPEC_KEYS: tuple[str, ...] = ("fold",)
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
# None for lr/weight_decay/momentum/clip_norm means "the optimizer's / the arch's default".
TRAINING_DEFAULTS: dict[str, Any] = {
    "epochs": 10,
    "batch_size": 128,
    "lr": None,
    "weight_decay": None,
    "momentum": None,
    "clip_norm": None,
    "patience": 3,
    "device": "auto",
    "amp": False,
    "tf32": False,  # TF32 matmuls/convolutions on a GPU; off for comparable float32 numbers
    "batching": "shuffled",
    "train_subsample": None,
    "eval_subsample": None,
}
RECURRENT_CLIP_NORM = 1.0  # seed E: LSTM still explodes without clipping


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

    def identity(self) -> dict[str, Any]:
        identity = {key: getattr(self, key) for key in SPEC_KEYS}
        if self.fold is not None:
            identity["fold"] = self.fold
        return identity

    def hparams(self) -> dict[str, Any]:
        return {**self.model, **self.training}

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def resolve_spec(spec: dict[str, Any]) -> TrainingSpec:
    """Validate ``spec`` and fill every training default; raise SpecError on any problem."""
    if not isinstance(spec, dict):
        raise SpecError(f"spec must be a JSON object, got {type(spec).__name__}")
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
    training = {**TRAINING_DEFAULTS, **{k: v for k, v in hparams.items() if k in TRAINING_DEFAULTS}}
    _check_training(training)
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
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_training(t: dict[str, Any]) -> None:
    for key in ("epochs", "batch_size"):
        if not _is_int(t[key]) or t[key] < 1:
            raise SpecError(f"hparams.{key} must be an integer >= 1, got {t[key]!r}")
    if t["patience"] is not None and (not _is_int(t["patience"]) or t["patience"] < 1):
        raise SpecError(
            f"hparams.patience must be an integer >= 1 or null (no early stopping), "
            f"got {t['patience']!r}"
        )
    for key in ("train_subsample", "eval_subsample"):
        if t[key] is not None and (not _is_int(t[key]) or t[key] < 1):
            raise SpecError(f"hparams.{key} must be an integer >= 1 or null, got {t[key]!r}")
    clip = t["clip_norm"]
    if clip is not None and (
        isinstance(clip, bool) or not isinstance(clip, int | float) or clip < 0
    ):
        raise SpecError(f"hparams.clip_norm must be a number >= 0 or null, got {clip!r}")
    if t["device"] not in DEVICES:
        raise SpecError(f"hparams.device {t['device']!r} is unknown; use one of {list(DEVICES)}")
    amp = t["amp"]
    if not any(amp is choice or (isinstance(amp, str) and amp == choice) for choice in AMP_CHOICES):
        raise SpecError(
            f"hparams.amp must be false, bf16, fp16 or true (= bf16 on a GPU), got {amp!r}"
        )
    if not isinstance(t["tf32"], bool):
        raise SpecError(f"hparams.tf32 must be true or false, got {t['tf32']!r}")
    if not isinstance(t["batching"], str) or t["batching"] not in BATCHINGS:
        raise SpecError(f"hparams.batching must be one of {list(BATCHINGS)}, got {t['batching']!r}")
