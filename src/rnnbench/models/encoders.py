"""Input encoders: turn a batch of raw inputs [B, L] into vectors [B, L, D].

One rule for every architecture:

- text tasks (``vocab_size > 0``): ``nn.Embedding(vocab_size, embedding_dim,
  padding_idx=0)``; ``embedding_dim`` defaults to 16 (seed A).
- the memory task (``vocab_size == 0``, float input): by default the scalar itself is the
  input, reshaped to [B, L, 1] (input size 1, exactly seed B's ``nn.RNN(1, 64)``). Only a
  positive ``embedding_dim`` given explicitly adds a learned ``nn.Linear(1, embedding_dim)``.
  Its marker variant has two channels per step ([B, L, 2], input size 2), taken as they are.
"""

from __future__ import annotations

from torch import Tensor, nn

TEXT_EMBEDDING_DIM = 16  # seed A uses 16 in all four models


class ScalarInput(nn.Module):
    """[B, L] real values -> [B, L, 1]: each step's input is the scalar itself."""

    def forward(self, x: Tensor) -> Tensor:
        return x.unsqueeze(-1)


class ChannelInput(nn.Module):
    """[B, L, C] real values, taken as they are (the memory task's marker variant)."""

    def forward(self, x: Tensor) -> Tensor:
        return x


def build_encoder(
    vocab_size: int, embedding_dim: int | None, channels: int = 1
) -> tuple[nn.Module, int]:
    """Return the encoder and the size D of the vectors it produces (``channels``: the
    scalar-input task's features per step)."""
    if vocab_size > 0:
        dim = TEXT_EMBEDDING_DIM if embedding_dim is None else embedding_dim
        if dim < 1:
            raise ValueError(f"embedding_dim must be >= 1 for text tasks, got {dim}")
        # padding_idx=0: the <pad> vector stays zero and gets no gradient.
        return nn.Embedding(vocab_size, dim, padding_idx=0), dim
    raw: nn.Module = ScalarInput() if channels == 1 else ChannelInput()
    if not embedding_dim:
        return raw, channels
    return nn.Sequential(raw, nn.Linear(channels, embedding_dim)), embedding_dim
