"""The optimizers a spec can name, with one default learning rate each.

Seed C asks for every model with SGD, Adadelta, NAG and Adam; AdamW and RMSprop complete
the usual set. An option left as ``None`` means "this optimizer's default", so a spec can
pass its hparams through without knowing which optimizer is in use.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from rnnbench.names import OPTIMIZERS

if TYPE_CHECKING:
    import torch

__all__ = ["DEFAULT_LR", "OPTIMIZERS", "build_optimizer", "resolve_options"]

# Plain SGD needs a larger step than the adaptive methods to move in 10 epochs; NAG's
# momentum 0.9 multiplies its effective step by ~10, hence 10x smaller. Adadelta's 1.0 is
# the paper's (Zeiler 2012) and PyTorch's: its update is already unit-corrected, and
# Keras' 0.001 leaves it almost frozen. Adam/AdamW/RMSprop use the common 1e-3.
DEFAULT_LR: dict[str, float] = {
    "sgd": 0.1,
    "nag": 0.01,
    "adadelta": 1.0,
    "adam": 1e-3,
    "adamw": 1e-3,
    "rmsprop": 1e-3,
}

# AdamW exists to apply decoupled decay, so it gets PyTorch's 0.01; the rest default to 0.
DEFAULT_WEIGHT_DECAY: dict[str, float] = {name: 0.0 for name in OPTIMIZERS} | {"adamw": 0.01}

# Momentum only means something for these; NAG without momentum would be plain SGD.
DEFAULT_MOMENTUM: dict[str, float] = {"sgd": 0.0, "nag": 0.9, "rmsprop": 0.0}

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
        if name == "nag" and momentum == 0:
            raise ValueError("momentum must be > 0 for 'nag' (Nesterov needs momentum)")
        resolved["momentum"] = momentum
    return resolved


def build_optimizer(
    name: str, params: Iterable[torch.nn.Parameter], options: Mapping[str, Any] | None = None
) -> torch.optim.Optimizer:
    """Build optimizer ``name`` (one of :data:`OPTIMIZERS`) over ``params``."""
    import torch  # here, not at module level: spec validation imports this module

    opts = resolve_options(name, options)
    lr, wd = opts["lr"], opts["weight_decay"]
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=opts["momentum"], weight_decay=wd)
    if name == "nag":
        return torch.optim.SGD(
            params, lr=lr, momentum=opts["momentum"], nesterov=True, weight_decay=wd
        )
    if name == "adadelta":
        return torch.optim.Adadelta(params, lr=lr, weight_decay=wd)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=wd)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=wd)
    return torch.optim.RMSprop(params, lr=lr, momentum=opts["momentum"], weight_decay=wd)


def _number(value: Any, default: float, key: str) -> float:
    if value is None:
        return float(default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key} must be a number, got {value!r}")
    return float(value)
