"""Assemble a model from its config name: input encoder -> body -> task head.

The architecture's entry in :mod:`rnnbench.registry` gives its config (defaults and
checks) and its body builder; this module holds the builders of the built-in bodies and
the assembly every architecture shares.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from rnnbench import registry
from rnnbench.data.arrays import EncodedMeta
from rnnbench.experiment.tasks import task_of
from rnnbench.models.bodies import (
    CellRecurrence,
    ConvBody,
    FlattenBody,
    FusedRecurrence,
    RecurrentBody,
    plan_model,
)
from rnnbench.models.cells import CELLS
from rnnbench.models.encoders import build_encoder
from rnnbench.models.heads import Head
from rnnbench.models.init import apply_init
from rnnbench.names import CELL_ARCHS, FUSED_ARCHS

# arch name -> (torch module kind, bidirectional)
FUSED: dict[str, tuple[str, bool]] = {
    "rnn": ("rnn", False),
    "lstm": ("lstm", False),
    "gru": ("gru", False),
    "birnn": ("rnn", True),
    "bilstm": ("lstm", True),
    "bigru": ("gru", True),
}
# The names live in rnnbench.names (no torch); the mappings above must cover them.
assert tuple(FUSED) == FUSED_ARCHS and tuple(CELLS) == CELL_ARCHS

TASKS = registry.TASKS
PADDINGS = ("post", "pre")

# Every model key's default, over all architectures (the registry's configs). embedding_dim
# None means "the encoder's default": 16 for text, and for the memory task the raw scalar
# as input size 1 (see encoders.py).
DEFAULT_HPARAMS: dict[str, Any] = registry.default_hparams()


class SequenceModel(nn.Module):
    """encoder -> body -> head; ``forward(x, lengths)`` returns logits.

    x: [B, L] token ids (int) or scalars (float, memory task); lengths: [B] real positions
    per row. Output: [B] (binary), [B, C] (multi-class) or [B, L, C] (NER).
    """

    def __init__(self, arch: str, encoder: nn.Module, body: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.arch = arch
        self.encoder = encoder
        self.body = body
        self.head = head

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        if isinstance(self.encoder, nn.Embedding) and getattr(self.body, "takes_token_ids", False):
            # The body embeds the ids itself, so that a first layer narrower than the
            # embedding can project through the embedding table (same values).
            return self.head(self.body(x, lengths, self.encoder))
        return self.head(self.body(self.encoder(x), lengths))


def resolve_hparams(arch: str, hparams: dict[str, Any] | None) -> registry.ModelConfig:
    """``arch``'s model config: defaults filled in, every value checked, unknown keys an
    error (the same resolution the workflow runs at parse time)."""
    return registry.resolve(arch, hparams)


def _check_meta(meta: EncodedMeta) -> None:
    if meta.task not in TASKS:
        raise ValueError(f"unknown task {meta.task!r}; allowed: {', '.join(TASKS)}")
    if meta.padding not in PADDINGS:
        raise ValueError(f"unknown padding {meta.padding!r}; allowed: {', '.join(PADDINGS)}")
    if meta.length < 1:
        raise ValueError(f"length must be >= 1, got {meta.length}")
    if meta.num_classes < 2:
        raise ValueError(f"num_classes must be >= 2, got {meta.num_classes}")
    if task_of(meta.task).generated and meta.vocab_size != 0:
        raise ValueError(
            f"the memory task has scalar input: vocab_size must be 0, got {meta.vocab_size}"
        )
    if not task_of(meta.task).generated and meta.vocab_size < 2:
        raise ValueError(f"text tasks need vocab_size >= 2 (<pad>, <unk>), got {meta.vocab_size}")


def build_flatten(name: str, meta: EncodedMeta, dim: int, cfg: Any) -> nn.Module:
    return FlattenBody(meta.length, dim)


def build_cnn(name: str, meta: EncodedMeta, dim: int, cfg: Any) -> nn.Module:
    return ConvBody(dim, cfg.conv_filters, cfg.conv_kernel, task_of(meta.task).tags_tokens)


def build_fused(name: str, meta: EncodedMeta, dim: int, cfg: Any) -> nn.Module:
    kind, bidirectional = FUSED[name]
    recurrence = FusedRecurrence(kind, dim, cfg.hidden, cfg.layers, bidirectional, cfg.dropout)
    return RecurrentBody(recurrence, meta.padding, task_of(meta.task).tags_tokens)


def build_cell(name: str, meta: EncodedMeta, dim: int, cfg: Any) -> nn.Module:
    recurrence = CellRecurrence(CELLS[name], dim, cfg.hidden, cfg.layers, cfg.dropout)
    return RecurrentBody(recurrence, meta.padding, task_of(meta.task).tags_tokens)


def build_model(
    arch: str,
    meta: EncodedMeta,
    hparams: dict[str, Any] | None = None,
    device: torch.device | str = "cpu",
) -> nn.Module:
    """Build ``arch`` for the dataset described by ``meta`` (see rnnbench.registry), its
    recurrent layers planned for ``device`` (models/plan.py). The parameters stay on the
    CPU: move the model with ``.to(device)``."""
    entry = registry.get(arch)
    _check_meta(meta)
    cfg = resolve_hparams(arch, hparams)
    entry.check_input(cfg, meta.task, meta.length)
    encoder, dim = build_encoder(meta.vocab_size, cfg.embedding_dim, meta.input_channels)
    body = entry.build_body(meta, dim, cfg)
    head = Head(
        body.out_features,
        cfg.head_hidden,
        task_of(meta.task).output_units(meta.num_classes),
        cfg.dropout,
    )
    model = apply_init(SequenceModel(arch, encoder, body, head), cfg.init)
    plan_model(model, torch.device(device))
    return model
