"""Moving real positions to the front of each row, and back.

The data may be pre-padded (Keras' default, seed A): real tokens sit at the *end* of each
row. A recurrent body must start reading at the first real token and stop at the last
one, and both packing and the explicit cell loop assume the real steps come first. So a
recurrent body rolls each row left before reading and, when it emits one output per
token (NER), rolls the outputs back so they line up with the input positions again.
"""

from __future__ import annotations

import torch


def _gather_rows(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """x[b, index[b, t], ...] for x of shape [B, L, ...] and index [B, L]."""
    index = index.view(*index.shape, *([1] * (x.dim() - 2))).expand_as(x)
    return torch.gather(x, 1, index)


def _rolled_index(lengths: torch.Tensor, length: int, direction: int) -> torch.Tensor:
    # Row b holds (length - lengths[b]) padding positions; rolling by that amount moves
    # its real positions from the end to the front (direction +1) or back (-1).
    shift = (length - lengths.to(torch.long)).to(lengths.device)
    positions = torch.arange(length, device=lengths.device)
    return (positions[None, :] + direction * shift[:, None]) % length


def pre_to_post(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Roll each row of a pre-padded [B, L, ...] tensor so its real positions come first."""
    return _gather_rows(x, _rolled_index(lengths.to(x.device), x.shape[1], +1))


def post_to_pre(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`pre_to_post`: real positions go back to the end of each row."""
    return _gather_rows(x, _rolled_index(lengths.to(x.device), x.shape[1], -1))
