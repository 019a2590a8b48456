"""Optimizers: every name builds and trains; options and defaults are validated."""

from __future__ import annotations

import pytest
import torch

from rnnbench.train.optimizers import (
    DEFAULT_LR,
    OPTIMIZERS,
    build_optimizer,
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
