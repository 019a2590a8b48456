"""``transformer``: a pre-LayerNorm Transformer encoder over the real positions of each row.

Inputs (embeddings, or the memory task's scalars) are projected to the model width
``hidden`` when their size differs, get sinusoidal or learned position encodings, and
run through ``layers`` pre-LN encoder layers (``heads`` attention heads, feed-forward
width ``ff_hidden``, default 4 * hidden, GELU) and a final LayerNorm. Padding is masked
out of attention. Pre-padded rows are rolled so the first real token is position 0
(RecurrentBody), so both padding sides see the same positions.

Outputs: per token (NER) the encoder's output at each position, zero at padding; per
sequence the masked mean over the real positions (``pooling: mean``) or the output at a
learned CLS token put before the sequence (``pooling: cls``).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from rnnbench.data.arrays import EncodedMeta
from rnnbench.experiment.tasks import task_of
from rnnbench.models.bodies import RecurrentBody
from rnnbench.models.recurrent import check_lengths


def sinusoidal_positions(length: int, width: int) -> Tensor:
    """Vaswani et al.'s table [length, width]: sin on even, cos on odd features."""
    position = torch.arange(length, dtype=torch.float32)[:, None]
    frequency = torch.exp(torch.arange(0, width, 2, dtype=torch.float32) * (-math.log(1e4) / width))
    table = torch.zeros(length, width)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency[: width // 2])
    return table


class LearnedPositions(nn.Module):
    """A learned position table [length, width], added to the inputs."""

    def __init__(self, length: int, width: int) -> None:
        super().__init__()
        self.table = nn.Parameter(torch.randn(length, width) * 0.02)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.table[: x.shape[1]]


class SinusoidalPositions(nn.Module):
    def __init__(self, length: int, width: int) -> None:
        super().__init__()
        self.register_buffer("table", sinusoidal_positions(length, width), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.table[: x.shape[1]]


class TransformerEncoder(nn.Module):
    """The recurrence-shaped core: ``forward(h, lengths, per_token)`` on post-padded rows."""

    def __init__(self, dim: int, length: int, cfg: Any, per_token: bool) -> None:
        super().__init__()
        width = cfg.hidden
        self.out_features = width
        self.cls = None
        if cfg.pooling == "cls" and not per_token:
            self.cls = nn.Parameter(torch.zeros(1, 1, width))
            length += 1
        self.project = nn.Linear(dim, width) if dim != width else nn.Identity()
        positions = LearnedPositions if cfg.positions == "learned" else SinusoidalPositions
        self.positions = positions(length, width)
        layer = nn.TransformerEncoderLayer(
            width,
            cfg.heads,
            dim_feedforward=cfg.ff_hidden or 4 * width,
            dropout=cfg.dropout,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.encoder = nn.TransformerEncoder(
            layer, cfg.layers, norm=nn.LayerNorm(width), enable_nested_tensor=False
        )

    def forward(self, h: Tensor, lengths: Tensor, per_token: bool) -> Tensor:
        batch, length, _ = h.shape
        check_lengths(lengths, length)
        lengths = lengths.to(h.device)
        real = torch.arange(length, device=h.device)[None, :] < lengths[:, None]  # [B, L]
        x = self.project(h)
        if self.cls is not None:
            x = torch.cat([self.cls.expand(batch, 1, -1).to(x.dtype), x], dim=1)
            real = torch.cat([real.new_ones(batch, 1), real], dim=1)
        y = self.encoder(self.positions(x), src_key_padding_mask=~real)
        if per_token:
            return y * real[..., None]
        if self.cls is not None:
            return y[:, 0]
        return (y * real[..., None]).sum(dim=1) / lengths[:, None].to(y.dtype)


def build_transformer(name: str, meta: EncodedMeta, dim: int, cfg: Any) -> nn.Module:
    """The registry's builder for ``transformer``."""
    per_token = task_of(meta.task).tags_tokens
    return RecurrentBody(
        TransformerEncoder(dim, meta.length, cfg, per_token), meta.padding, per_token
    )
