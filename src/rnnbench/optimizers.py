"""The optimizers a spec can name: their fixed settings, with the source of each, and one
default learning rate each.

The set is the usual one of optimizer comparisons (Choi et al. 2019; Schmidt et al. 2021):
plain SGD, SGD with heavy-ball momentum, Nesterov momentum (NAG), Adadelta, RMSprop, Adam
and AdamW. Seed C asks for every model with SGD, Adadelta, NAG and Adam
(:data:`SEED_C_NAMES` maps its names onto ours). Every setting but the learning rate (and
the weight decay / momentum a grid may set on purpose) is fixed and listed in
:data:`OPTIMIZER_DEFS`; metrics.json records what the optimizer actually ran with
(:func:`describe_optimizer`). An option left as ``None`` means "this optimizer's default",
so a spec can pass its hparams through without knowing which optimizer is in use.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rnnbench.names import OPTIMIZERS

if TYPE_CHECKING:
    import torch

__all__ = [
    "DEFAULT_LR",
    "OPTIMIZERS",
    "OPTIMIZER_DEFS",
    "SEED_C_NAMES",
    "build_optimizer",
    "describe_optimizer",
    "resolve_options",
]


@dataclass(frozen=True)
class OptimizerDef:
    """One optimizer: the torch class, the settings no grid changes, the default lr, and
    where those values come from."""

    torch_class: str  # in torch.optim
    fixed: dict[str, Any] = field(default_factory=dict)  # passed to the class as given
    default_lr: float = 1e-3
    source: str = ""


# Plain SGD needs a larger step than the adaptive methods to move in 10 epochs; momentum
# 0.9 multiplies the effective step by ~10, hence 10x smaller for SGD+momentum and NAG.
# Adadelta's 1.0 is the paper's (Zeiler 2012) and PyTorch's: its update is already
# unit-corrected, and Keras' 0.001 leaves it almost frozen. Adam/AdamW/RMSprop: 1e-3.
OPTIMIZER_DEFS: dict[str, OptimizerDef] = {
    "sgd": OptimizerDef(
        "SGD",
        {"dampening": 0.0, "nesterov": False},
        0.1,
        "torch.optim.SGD's defaults (= Keras' SGD): no momentum (a grid may set hparams.momentum)",
    ),
    "sgd_momentum": OptimizerDef(
        "SGD",
        {"dampening": 0.0, "nesterov": False},
        0.01,
        "heavy-ball momentum 0.9, the value of Sutskever et al. 2013 and of most comparisons "
        "(Choi et al. 2019); torch's SGD update (v = mu*v + g; w -= lr*v)",
    ),
    "nag": OptimizerDef(
        "SGD",
        {"dampening": 0.0, "nesterov": True},
        0.01,
        "Nesterov momentum 0.9 (Sutskever et al. 2013), as torch.optim.SGD(nesterov=True) "
        "computes it",
    ),
    "adadelta": OptimizerDef(
        "Adadelta",
        {"rho": 0.9, "eps": 1e-6},
        1.0,
        "torch.optim.Adadelta's defaults (Zeiler 2012's update; the paper's MNIST runs used "
        "rho 0.95; Keras: rho 0.95, eps 1e-7, lr 1e-3)",
    ),
    "rmsprop": OptimizerDef(
        "RMSprop",
        {"alpha": 0.99, "eps": 1e-8, "centered": False},
        1e-3,
        "torch.optim.RMSprop's defaults: decay (alpha) 0.99, not centered, no momentum "
        "(Hinton's lecture 6e and Keras use decay 0.9, Keras eps 1e-7)",
    ),
    "adam": OptimizerDef(
        "Adam",
        {"betas": (0.9, 0.999), "eps": 1e-8, "amsgrad": False},
        1e-3,
        "Kingma & Ba 2015's defaults (= torch.optim.Adam's; Keras: eps 1e-7); L2 weight decay 0",
    ),
    "adamw": OptimizerDef(
        "AdamW",
        {"betas": (0.9, 0.999), "eps": 1e-8, "amsgrad": False},
        1e-3,
        "torch.optim.AdamW's defaults: Adam's betas and eps, decoupled weight decay 0.01 "
        "(Loshchilov & Hutter 2019)",
    ),
}
DEFAULT_LR: dict[str, float] = {name: d.default_lr for name, d in OPTIMIZER_DEFS.items()}

# AdamW exists to apply decoupled decay, so it gets PyTorch's 0.01; the rest default to 0.
DEFAULT_WEIGHT_DECAY: dict[str, float] = {name: 0.0 for name in OPTIMIZERS} | {"adamw": 0.01}

# Momentum only means something for these; NAG and SGD+momentum without it are plain SGD.
DEFAULT_MOMENTUM: dict[str, float] = {
    "sgd": 0.0,
    "sgd_momentum": 0.9,
    "nag": 0.9,
    "rmsprop": 0.0,
}
NEEDS_MOMENTUM: tuple[str, ...] = ("sgd_momentum", "nag")

# Seed C (Karanik, homework 6) names the optimizers as torch.optim does; NAG is SGD with
# Nesterov momentum.
SEED_C_NAMES: dict[str, str] = {"SGD": "sgd", "Adadelta": "adadelta", "NAG": "nag", "Adam": "adam"}

# The settings metrics.json records (those of a torch param group that shape the update).
DESCRIBED_SETTINGS: tuple[str, ...] = (
    "lr",
    "momentum",
    "dampening",
    "nesterov",
    "rho",
    "alpha",
    "centered",
    "betas",
    "eps",
    "amsgrad",
    "weight_decay",
)

KNOWN_OPTIONS: tuple[str, ...] = ("lr", "weight_decay", "momentum")
ALLOWED_OPTIONS: dict[str, tuple[str, ...]] = {
    name: ("lr", "weight_decay", "momentum") if name in DEFAULT_MOMENTUM else ("lr", "weight_decay")
    for name in OPTIMIZERS
}


def resolve_options(name: str, options: Mapping[str, Any] | None = None) -> dict[str, float]:
    """Validate ``options`` for optimizer ``name`` and fill in every default.

    Raises ValueError naming the offending key and the allowed values.
    """
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer {name!r} is unknown; use one of {list(OPTIMIZERS)}")
    options = dict(options or {})
    allowed = ALLOWED_OPTIONS[name]
    # A known option set to None is "not given", so hparams can carry momentum=None to Adam.
    unknown = sorted(
        key
        for key, value in options.items()
        if key not in allowed and (key not in KNOWN_OPTIONS or value is not None)
    )
    if unknown:
        raise ValueError(
            f"optimizer {name!r} does not take option(s) {unknown}; allowed: {list(allowed)}"
        )
    resolved: dict[str, float] = {
        "lr": _number(options.get("lr"), DEFAULT_LR[name], "lr"),
        "weight_decay": _number(
            options.get("weight_decay"), DEFAULT_WEIGHT_DECAY[name], "weight_decay"
        ),
    }
    if resolved["lr"] <= 0:
        raise ValueError(f"lr must be > 0, got {resolved['lr']}")
    if resolved["weight_decay"] < 0:
        raise ValueError(f"weight_decay must be >= 0, got {resolved['weight_decay']}")
    if name in DEFAULT_MOMENTUM:
        momentum = _number(options.get("momentum"), DEFAULT_MOMENTUM[name], "momentum")
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        if name in NEEDS_MOMENTUM and momentum == 0:
            raise ValueError(
                f"momentum must be > 0 for {name!r} (without it, it is plain SGD: use 'sgd')"
            )
        resolved["momentum"] = momentum
    return resolved


def build_optimizer(
    name: str, params: Iterable[torch.nn.Parameter], options: Mapping[str, Any] | None = None
) -> torch.optim.Optimizer:
    """Build optimizer ``name`` (one of :data:`OPTIMIZERS`) over ``params``."""
    import torch  # here, not at module level: spec validation imports this module

    opts = resolve_options(name, options)
    definition = OPTIMIZER_DEFS[name]
    cls = getattr(torch.optim, definition.torch_class)
    return cls(params, **definition.fixed, **opts)


def describe_optimizer(name: str, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """What metrics.json records of the optimizer: its name, torch class, every setting
    that shapes the update as the optimizer holds it (fixed ones included), and their
    source."""
    group = optimizer.param_groups[0]
    settings = {
        key: list(group[key]) if isinstance(group[key], tuple) else group[key]
        for key in DESCRIBED_SETTINGS
        if key in group
    }
    return {
        "name": name,
        "class": f"torch.optim.{type(optimizer).__name__}",
        "settings": settings,
        "source": OPTIMIZER_DEFS[name].source,
    }


def _number(value: Any, default: float, key: str) -> float:
    if value is None:
        return float(default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key} must be a number, got {value!r}")
    return float(value)
