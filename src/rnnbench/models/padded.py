"""The GPU path of the fused recurrences: torch's (cuDNN) kernels over the padded batch,
exact for any lengths, with no packing and no host synchronisation.

Why: ``pack_padded_sequence`` needs the lengths on the host (``lengths.cpu()``, a sync
that stalls the GPU queue every batch) and runs packed-sequence kernels; on an H200 that
made rnnbench's per-cell GPU path 3-4x slower than plain cuDNN over padded batches
(issue 18). Packing is not needed for exactness:

- a forward direction over left-aligned (post-padded) rows is causal: its output at a
  real position t < lengths[b] depends on positions <= t only, so padding after the row
  never reaches it; the row's final state is the output at lengths[b] - 1 (a gather);
- a backward direction is a forward pass over each row reversed *within its length*
  (real steps reversed, padding left behind them), reversed back afterwards. The
  reversal is one gather with an index computed once per batch on the device.

Deep unidirectional stacks run as one call of the torch module (each layer is causal,
so the stack is). Bidirectional layers run one by one, each direction as a
unidirectional call of torch's recurrent op with that direction's weights, since the
module's own backward direction would start at the padding. Dropout between layers is
``F.dropout`` on the layer's outputs, as the module applies it.

Pre-padded rows are rolled left before (RecurrentBody, alignment.pre_to_post), as for
every recurrence. Per-token outputs are zero at padding, as ``pad_packed_sequence``
leaves them. The lengths are checked on the device (``torch._assert_async``), not read
back. tests/test_models_padded.py compares this path with the packed modules in float64,
outputs and gradients (and in float32 on a GPU where one is present).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import _VF, Tensor, nn

from rnnbench.models.recurrent import module_weights


def reversed_index(lengths: Tensor, length: int) -> Tensor:
    """[B, L] source position of each position: the row's real steps reversed, padding in
    place. Its own inverse."""
    positions = torch.arange(length, device=lengths.device)[None, :]
    last = lengths[:, None] - 1
    return torch.where(positions <= last, last - positions, positions)


def _gather_time(x: Tensor, index: Tensor) -> Tensor:
    """x [B, L, F] reordered along time by index [B, L]."""
    return torch.gather(x, 1, index[..., None].expand_as(x))


def _one_direction(kind: str, module: nn.RNNBase, layer: int, reverse: bool, x: Tensor) -> Tensor:
    """One layer's one direction over batch-first x [B, L, F] as a unidirectional pass of
    torch's op (what nn.RNN/LSTM/GRU.forward calls): [B, L, H]."""
    weights = list(module_weights(module, layer, reverse))
    zeros = x.new_zeros(1, x.shape[0], module.hidden_size)
    args = (weights, True, 1, 0.0, module.training, False, True)
    if kind == "lstm":
        return _VF.lstm(x, (zeros, zeros), *args)[0]
    if kind == "gru":
        return _VF.gru(x, zeros, *args)[0]
    op = _VF.rnn_tanh if module.nonlinearity == "tanh" else _VF.rnn_relu
    return op(x, zeros, *args)[0]


def check_lengths_async(lengths: Tensor, length: int) -> None:
    """Every length in [1, length], checked where the lengths are (no host sync on a GPU;
    a failure surfaces at the next synchronisation)."""
    if lengths.numel():
        ok = ((lengths >= 1) & (lengths <= length)).all()
        torch._assert_async(ok, f"every row needs a length in [1, {length}]")


def run_padded(
    kind: str, module: nn.RNNBase, h: Tensor, lengths: Tensor, per_token: bool
) -> Tensor:
    """``module`` over left-aligned rows h [B, L, I]: [B, L, D*H] per-token outputs (zeros
    at padding) or [B, D*H] final states (forward direction first), as the packed module
    gives them."""
    batch, length = h.shape[:2]
    lengths = lengths.to(h.device)
    check_lengths_async(lengths, length)
    if not module.bidirectional:
        out, _ = module(h)  # [B, L, H]: every layer causal, so exact at real positions
        last = [out]
    else:
        index = reversed_index(lengths, length)
        x = h
        for layer in range(module.num_layers):
            if layer:
                x = F.dropout(x, module.dropout, module.training)
            forward = _one_direction(kind, module, layer, False, x)
            backward = _one_direction(kind, module, layer, True, _gather_time(x, index))
            # `backward` in reading order: its last real step is the row's first token.
            last = [forward, backward]
            x = torch.cat([forward, _gather_time(backward, index)], 2)
        out = x
    if per_token:
        real = torch.arange(length, device=h.device)[None, :] < lengths[:, None]
        return out * real[..., None]
    at = (lengths - 1).view(batch, 1, 1).expand(batch, 1, module.hidden_size)
    return torch.cat([torch.gather(seq, 1, at).squeeze(1) for seq in last], 1)
