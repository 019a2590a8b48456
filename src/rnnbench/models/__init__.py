"""The model zoo: ``build_model(arch, meta, hparams)`` for every name in ARCHITECTURES.

A model is an input encoder (embedding or scalar input) -> a body (flatten, CNN, fused
or explicit recurrent) -> a task head (one logit, C logits, or C logits per token).
"""

from rnnbench.models.build import DEFAULT_HPARAMS, SequenceModel, build_model
from rnnbench.names import ARCHITECTURES, RECURRENT

__all__ = ["ARCHITECTURES", "DEFAULT_HPARAMS", "RECURRENT", "SequenceModel", "build_model"]
