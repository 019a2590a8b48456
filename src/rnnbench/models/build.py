"""Assemble a model from its config name: input encoder -> body -> task head."""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from rnnbench.data.arrays import EncodedMeta
from rnnbench.models.bodies import (
    CellRecurrence,
    ConvBody,
    FlattenBody,
    FusedRecurrence,
    RecurrentBody,
)
from rnnbench.models.cells import CELLS
from rnnbench.models.encoders import build_encoder
from rnnbench.models.heads import Head
from rnnbench.models.init import INITS, apply_init
from rnnbench.names import ARCHITECTURES, CELL_ARCHS, FUSED_ARCHS

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

TASKS = ("sentiment", "ner", "memory")
PADDINGS = ("post", "pre")

# embedding_dim None means "the encoder's default": 16 for text, and for the memory task
# the raw scalar as input size 1 (see encoders.py).
DEFAULT_HPARAMS: dict[str, Any] = {
    "embedding_dim": None,
    "hidden": 32,
    "layers": 1,
    "dropout": 0.0,
    "head_hidden": 6,
    "conv_filters": 128,
    "conv_kernel": 5,
    "init": "keras",  # see init.py: "keras" or "torch"
}
# Smallest allowed value of each integer hparam (embedding_dim 0 only makes sense for memory).
_MINIMUM = {
    "embedding_dim": 0,
    "hidden": 1,
    "layers": 1,
    "head_hidden": 0,
    "conv_filters": 1,
    "conv_kernel": 1,
}


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


def resolve_hparams(hparams: dict[str, Any] | None) -> dict[str, Any]:
    """Defaults filled in and every value checked; unknown keys are an error, not ignored."""
    hparams = dict(hparams or {})
    unknown = sorted(set(hparams) - set(DEFAULT_HPARAMS))
    if unknown:
        raise ValueError(
            f"unknown model hparam {unknown[0]!r}; allowed keys: {', '.join(DEFAULT_HPARAMS)}"
        )
    resolved = DEFAULT_HPARAMS | {k: v for k, v in hparams.items() if v is not None}
    for key, minimum in _MINIMUM.items():
        value = resolved[key]
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"model hparam {key!r} must be an integer >= {minimum}, got {value!r}")
    if resolved["init"] not in INITS:
        raise ValueError(
            f"model hparam 'init' must be one of {', '.join(INITS)}, got {resolved['init']!r}"
        )
    dropout = resolved["dropout"]
    if isinstance(dropout, bool) or not isinstance(dropout, int | float) or not 0 <= dropout < 1:
        raise ValueError(f"model hparam 'dropout' must be a number in [0, 1), got {dropout!r}")
    return resolved


def _check_meta(meta: EncodedMeta) -> None:
    if meta.task not in TASKS:
        raise ValueError(f"unknown task {meta.task!r}; allowed: {', '.join(TASKS)}")
    if meta.padding not in PADDINGS:
        raise ValueError(f"unknown padding {meta.padding!r}; allowed: {', '.join(PADDINGS)}")
    if meta.length < 1:
        raise ValueError(f"length must be >= 1, got {meta.length}")
    if meta.num_classes < 2:
        raise ValueError(f"num_classes must be >= 2, got {meta.num_classes}")
    if meta.task == "memory" and meta.vocab_size != 0:
        raise ValueError(
            f"the memory task has scalar input: vocab_size must be 0, got {meta.vocab_size}"
        )
    if meta.task != "memory" and meta.vocab_size < 2:
        raise ValueError(f"text tasks need vocab_size >= 2 (<pad>, <unk>), got {meta.vocab_size}")


def _build_body(arch: str, meta: EncodedMeta, dim: int, hp: dict[str, Any]) -> nn.Module:
    per_token = meta.task == "ner"
    if arch == "flatten":
        if per_token:
            raise ValueError(
                "arch 'flatten' is for sequence classification only; it has no per-token "
                "output for task 'ner' (use cnn or a recurrent arch)"
            )
        return FlattenBody(meta.length, dim)
    if arch == "cnn":
        if not per_token and hp["conv_kernel"] > meta.length:
            raise ValueError(
                f"conv_kernel {hp['conv_kernel']} is longer than the sequence length {meta.length}"
            )
        return ConvBody(dim, hp["conv_filters"], hp["conv_kernel"], per_token)
    if arch in FUSED:
        kind, bidirectional = FUSED[arch]
        recurrence: nn.Module = FusedRecurrence(
            kind, dim, hp["hidden"], hp["layers"], bidirectional, hp["dropout"]
        )
    else:
        recurrence = CellRecurrence(CELLS[arch], dim, hp["hidden"], hp["layers"], hp["dropout"])
    return RecurrentBody(recurrence, meta.padding, per_token)


def num_outputs(meta: EncodedMeta) -> int:
    """1 logit for binary sequence classification, else one per class (or tag)."""
    return 1 if meta.task in ("sentiment", "memory") and meta.num_classes == 2 else meta.num_classes


def build_model(arch: str, meta: EncodedMeta, hparams: dict[str, Any] | None = None) -> nn.Module:
    """Build ``arch`` for the dataset described by ``meta``; see ARCHITECTURES and DEFAULT_HPARAMS."""
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown arch {arch!r}; allowed: {', '.join(ARCHITECTURES)}")
    _check_meta(meta)
    hp = resolve_hparams(hparams)
    encoder, dim = build_encoder(meta.vocab_size, hp["embedding_dim"])
    body = _build_body(arch, meta, dim, hp)
    head = Head(body.out_features, hp["head_hidden"], num_outputs(meta), hp["dropout"])
    return apply_init(SequenceModel(arch, encoder, body, head), hp["init"])
