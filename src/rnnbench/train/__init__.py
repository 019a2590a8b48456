"""The training job: spec -> trained model, metrics.json, history.csv.

``run_training`` is the entry point; ``rnnbench.train.job`` runs it for ``rnnbench train``.
Names are imported on first use (PEP 562) so that validating a spec at workflow parse
time (``rnnbench.experiment.spec``) does not import torch.
"""

import importlib
from typing import Any

_EXPORTS = {
    "run_training": "rnnbench.train.loop",
    "compute_metrics": "rnnbench.metrics",
    "headline_metric": "rnnbench.metrics",
    "DEFAULT_LR": "rnnbench.optimizers",
    "OPTIMIZERS": "rnnbench.optimizers",
    "build_optimizer": "rnnbench.optimizers",
    "NONDETERMINISTIC_KEYS": "rnnbench.train.report",
    "SpecError": "rnnbench.experiment.spec",
    "resolve_spec": "rnnbench.experiment.spec",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'rnnbench.train' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
