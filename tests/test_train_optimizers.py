"""Optimizers: every name builds and trains; options and defaults are validated."""

from __future__ import annotations

import json

import pytest
import torch

from rnnbench.optimizers import (
    DEFAULT_LR,
    OPTIMIZER_DEFS,
    OPTIMIZERS,
    SEED_C_NAMES,
    build_optimizer,
    describe_optimizer,
    resolve_options,
)


def _regression_loss(model: torch.nn.Module) -> torch.Tensor:
    x = torch.linspace(-1, 1, 32).unsqueeze(1)
    return ((model(x) - 3 * x + 1) ** 2).mean()


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_optimizer_steps_and_lowers_the_loss(name: str) -> None:
    torch.manual_seed(0)
    model = torch.nn.Linear(1, 1)
    optimizer = build_optimizer(name, model.parameters(), {})
    before = _regression_loss(model).item()
    for _ in range(20):
        optimizer.zero_grad()
        loss = _regression_loss(model)
        loss.backward()
        optimizer.step()
    after = _regression_loss(model).item()
    assert after < before
    assert optimizer.param_groups[0]["lr"] == DEFAULT_LR[name]


def test_every_optimizer_has_a_positive_default_lr() -> None:
    assert set(DEFAULT_LR) == set(OPTIMIZERS)
    assert all(lr > 0 for lr in DEFAULT_LR.values())


def test_nag_is_nesterov_sgd_with_momentum() -> None:
    optimizer = build_optimizer("nag", torch.nn.Linear(1, 1).parameters(), {})
    group = optimizer.param_groups[0]
    assert isinstance(optimizer, torch.optim.SGD)
    assert group["nesterov"] is True and group["momentum"] == 0.9


def test_options_are_applied() -> None:
    params = torch.nn.Linear(1, 1).parameters()
    optimizer = build_optimizer("sgd", params, {"lr": 0.5, "weight_decay": 0.1, "momentum": 0.8})
    group = optimizer.param_groups[0]
    assert (group["lr"], group["weight_decay"], group["momentum"]) == (0.5, 0.1, 0.8)
    assert isinstance(
        build_optimizer("adamw", torch.nn.Linear(1, 1).parameters()), torch.optim.AdamW
    )


def test_none_means_default_even_for_options_the_optimizer_lacks() -> None:
    assert resolve_options("adam", {"lr": None, "weight_decay": None, "momentum": None}) == {
        "lr": DEFAULT_LR["adam"],
        "weight_decay": 0.0,
    }


@pytest.mark.parametrize(
    ("name", "options", "named"),
    [
        ("lbfgs", {}, "lbfgs"),
        ("adam", {"momentum": 0.9}, "momentum"),
        ("sgd", {"betas": (0.9, 0.99)}, "betas"),
        ("adam", {"lr": 0}, "lr"),
        ("rmsprop", {"lr": -1e-3}, "lr"),
        ("sgd", {"weight_decay": -1}, "weight_decay"),
        ("nag", {"momentum": 0.0}, "momentum"),
    ],
)
def test_bad_optimizer_or_option_names_the_key(name: str, options: dict, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        build_optimizer(name, torch.nn.Linear(1, 1).parameters(), options)


def test_unknown_optimizer_lists_the_allowed_ones() -> None:
    with pytest.raises(ValueError, match="adadelta"):
        resolve_options("lbfgs")


def test_the_set_holds_the_usual_comparison_and_seed_c_maps_onto_it() -> None:
    assert set(OPTIMIZERS) == {"sgd", "sgd_momentum", "nag", "adadelta", "rmsprop", "adam", "adamw"}
    assert set(SEED_C_NAMES) == {"SGD", "Adadelta", "NAG", "Adam"}
    assert set(SEED_C_NAMES.values()) <= set(OPTIMIZERS)
    assert set(OPTIMIZER_DEFS) == set(OPTIMIZERS)
    assert all(d.source for d in OPTIMIZER_DEFS.values())


def test_sgd_momentum_is_heavy_ball_not_nesterov_and_needs_momentum() -> None:
    optimizer = build_optimizer("sgd_momentum", torch.nn.Linear(1, 1).parameters(), {})
    group = optimizer.param_groups[0]
    assert isinstance(optimizer, torch.optim.SGD)
    assert group["nesterov"] is False and group["momentum"] == 0.9
    with pytest.raises(ValueError, match="momentum"):
        resolve_options("sgd_momentum", {"momentum": 0.0})


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("sgd", {"momentum": 0.0, "nesterov": False, "weight_decay": 0.0}),
        ("sgd_momentum", {"momentum": 0.9, "nesterov": False, "dampening": 0.0}),
        ("nag", {"momentum": 0.9, "nesterov": True}),
        ("adadelta", {"rho": 0.9, "eps": 1e-6, "lr": 1.0}),
        ("rmsprop", {"alpha": 0.99, "eps": 1e-8, "momentum": 0.0, "centered": False}),
        ("adam", {"betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0}),
        ("adamw", {"betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.01}),
    ],
)
def test_the_described_settings_are_the_ones_the_optimizer_runs_with(
    name: str, expected: dict
) -> None:
    optimizer = build_optimizer(name, torch.nn.Linear(1, 1).parameters(), {"lr": None})
    record = describe_optimizer(name, optimizer)
    assert record["name"] == name and record["source"]
    assert record["class"] == f"torch.optim.{type(optimizer).__name__}"
    for key, value in expected.items():
        assert record["settings"][key] == value, key
    assert record["settings"]["lr"] == DEFAULT_LR[name]
    json.dumps(record)  # metrics.json can hold it
