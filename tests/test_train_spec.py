"""Spec validation: defaults, per-arch clipping, and errors that name the key."""

from __future__ import annotations

import pytest

from rnnbench.experiment.spec import (
    MODEL_KEYS,
    RECURRENT_ARCHS,
    TRAINING_DEFAULTS,
    SpecError,
    resolve_spec,
)
from rnnbench.models import DEFAULT_HPARAMS, RECURRENT
from rnnbench.optimizers import DEFAULT_LR

BASE = {"dataset": "toy", "arch": "lstm", "optimizer": "adam", "length": 12, "seed": 0}


def test_defaults_are_filled_in() -> None:
    resolved = resolve_spec(dict(BASE))
    t = resolved.training
    assert t["epochs"] == 10 and t["batch_size"] == 128 and t["patience"] == 3
    assert t["lr"] == DEFAULT_LR["adam"] and t["weight_decay"] == 0.0
    assert t["clip_norm"] == 1.0  # recurrent arch
    assert t["device"] == "auto" and t["amp"] is False
    assert t["train_subsample"] is None and t["eval_subsample"] is None
    assert resolved.model == {}
    assert resolved.identity() == BASE


@pytest.mark.parametrize(("arch", "clip"), [("flatten", None), ("cnn", None), ("gru_cell", 1.0)])
def test_clip_norm_default_depends_on_the_arch(arch: str, clip: float | None) -> None:
    assert resolve_spec({**BASE, "arch": arch}).training["clip_norm"] == clip


def test_explicit_values_win_and_zero_clip_means_none() -> None:
    hparams = {"lr": 0.05, "clip_norm": 0, "hidden": 8, "epochs": 2, "patience": None}
    resolved = resolve_spec({**BASE, "optimizer": "nag", "hparams": hparams})
    assert resolved.training["lr"] == 0.05
    assert resolved.training["clip_norm"] is None
    assert resolved.training["momentum"] == 0.9
    assert resolved.training["patience"] is None
    assert resolved.model == {"hidden": 8}


def test_key_sets_agree_with_the_model_zoo() -> None:
    assert set(MODEL_KEYS) == set(DEFAULT_HPARAMS)
    assert set(RECURRENT_ARCHS) == set(RECURRENT)
    assert not set(MODEL_KEYS) & set(TRAINING_DEFAULTS)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"hparams": {"learning_rate": 0.1}}, "learning_rate"),
        ({"hparams": {"epochs": 0}}, "epochs"),
        ({"hparams": {"batch_size": 2.5}}, "batch_size"),
        ({"hparams": {"device": "tpu"}}, "device"),
        ({"hparams": {"patience": 0}}, "patience"),
        ({"hparams": {"lr": -1}}, "lr"),
        ({"hparams": {"momentum": 0.9}}, "momentum"),  # adam takes none
        ({"optimizer": "lbfgs"}, "lbfgs"),
        ({"colour": "red"}, "colour"),
        ({"seed": "0"}, "seed"),
    ],
)
def test_bad_spec_raises_value_error_naming_the_key(change: dict, named: str) -> None:
    with pytest.raises(ValueError, match=named) as info:
        resolve_spec({**BASE, **change})
    assert isinstance(info.value, SpecError)


def test_missing_key() -> None:
    spec = dict(BASE)
    del spec["seed"]
    with pytest.raises(SpecError, match="seed"):
        resolve_spec(spec)


@pytest.mark.parametrize("amp", [False, True, "bf16", "fp16"])
def test_amp_is_off_or_a_dtype(amp: bool | str) -> None:
    assert resolve_spec({**BASE, "hparams": {"amp": amp}}).training["amp"] == amp


@pytest.mark.parametrize("amp", ["yes", "float16", 1, 0, None])
def test_amp_rejects_anything_else(amp: object) -> None:
    with pytest.raises(SpecError, match=r"hparams\.amp"):
        resolve_spec({**BASE, "hparams": {"amp": amp}})


def test_tf32_is_off_by_default_and_a_boolean() -> None:
    assert resolve_spec(dict(BASE)).training["tf32"] is False
    assert resolve_spec({**BASE, "hparams": {"tf32": True}}).training["tf32"] is True
    with pytest.raises(SpecError, match=r"hparams\.tf32"):
        resolve_spec({**BASE, "hparams": {"tf32": "on"}})
