"""Stacks of RNN / LSTM / GRU layers, run by the kernels in scan.py or, for deep
unidirectional stacks, by the layer wavefront in wavefront.py.

The parameters are those of a torch ``nn.RNN``/``nn.LSTM``/``nn.GRU`` module (same names,
shapes and init, so checkpoints and parameter counts do not change); only the
computation differs. Semantics are those of packed sequences: row b is read for exactly
``lengths[b]`` steps, its final state is the one at its last real step, the backward
direction starts at its last real token, and per-token outputs are zero at padding.

The kernels run every row for max(lengths) steps instead of skipping padding. That
gives the same outputs and the same gradients: rows are left-aligned, so positions after
a row's end come after everything that is read from it; their values reach nothing that
is read, and the gradient flowing into them is exactly zero.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnbench.models import native
from rnnbench.models.cells import Cell, CIFGLSTMCell, PeepholeLSTMCell
from rnnbench.models.scan import ElmanScan, GRUScan, LSTMScan
from rnnbench.models.wavefront import wavefront_stack

KINDS = ("rnn", "lstm", "gru")


def check_lengths(lengths: Tensor, length: int) -> None:
    if lengths.numel() and (int(lengths.min()) < 1 or int(lengths.max()) > length):
        raise ValueError(
            f"every row needs a length in [1, {length}], got lengths from "
            f"{int(lengths.min())} to {int(lengths.max())}"
        )


def _steps(steps: int, lengths: Tensor, reverse: bool) -> Tensor:
    """[T, B] source step of each step: itself, or the row's real steps reversed."""
    positions = torch.arange(steps, device=lengths.device)[:, None].expand(steps, len(lengths))
    if not reverse:
        return positions
    last = lengths[None, :] - 1
    return torch.where(positions <= last, last - positions, positions)


def reverse_rows(x: Tensor, lengths: Tensor) -> Tensor:
    """Time-major x [T, B, ...]: reverse each row's first lengths[b] steps, keep the rest.

    Its own inverse. This is how the backward direction reads a row from its last real
    token, as packing does.
    """
    index = _steps(x.shape[0], lengths.to(x.device), True)
    index = index.view(*index.shape, *([1] * (x.dim() - 2))).expand_as(x)
    return torch.gather(x, 0, index)


def block_order(blocks: list[int], hidden: int, device: torch.device) -> Tensor:
    """Row permutation that puts a gate-stacked weight's H-row blocks in ``blocks`` order."""
    index = torch.tensor(blocks, device=device)
    return (index[:, None] * hidden + torch.arange(hidden, device=device)).flatten()


# torch's LSTM blocks (i, f, g, o) to the LSTM kernel's (o, i, f, g); CIFG's (f, g, o) to
# (o, f, g).
LSTM_BLOCKS, CIFG_BLOCKS = [3, 0, 1, 2], [2, 0, 1]


def scan_layer(kind: str, x: Tensor, lengths: Tensor, weights: list[tuple[Tensor, ...]]) -> Tensor:
    """One layer over x [T, B, I]; weights[d] = (w_ih, w_hh, b_ih, b_hh) per direction.

    Direction 1 (if given) reads each row backwards from its last real step. Returns the
    per-step hidden states [T, D, B, H], each direction in its own time order.
    """
    w_ih, w_hh, b_ih, b_hh = (torch.stack(parts) for parts in zip(*weights, strict=True))
    directions, width, hidden = w_hh.shape
    if kind == "lstm":
        order = block_order(LSTM_BLOCKS, hidden, x.device)
        w_ih, w_hh, b_ih, b_hh = w_ih[:, order], w_hh[:, order], b_ih[:, order], b_hh[:, order]
    # For the GRU, b_hn stays inside the reset gate's product: only b_hr, b_hz fold in.
    folded = F.pad(b_hh[:, : 2 * hidden], (0, hidden)) if kind == "gru" else b_hh
    bias = b_ih + folded
    # The backward direction reads each row reversed: reverse the (narrow) input rather
    # than its projection, then one batched product projects both directions.
    steps, batch, size = x.shape
    inputs = x[None] if directions == 1 else torch.stack([x, reverse_rows(x, lengths)])
    proj = torch.baddbmm(bias[:, None], inputs.reshape(directions, -1, size), w_ih.transpose(1, 2))
    proj = proj.view(directions, steps, batch, width)
    if native.usable(proj):
        # The compiled loops take every direction in one call (and run them on separate
        # threads): [T, D, G, B].
        x_proj = proj.permute(1, 0, 3, 2).contiguous()
        return _scan(kind, x_proj, w_hh, b_hh[:, 2 * hidden :]).transpose(2, 3)
    # The Python loops take one direction per call: batching the two as D = 2 was
    # measured 5x slower (a step's gate slices are then not contiguous).
    x_proj = proj.permute(0, 1, 3, 2).contiguous()  # [D, T, G, B]
    outs = [
        _scan(kind, x_proj[d].unsqueeze(1), w_hh[d : d + 1], b_hh[d : d + 1, 2 * hidden :])
        for d in range(directions)
    ]
    return torch.cat(outs, 1).transpose(2, 3)  # [T, D, B, H]


def _scan(kind: str, x_proj: Tensor, w_hh: Tensor, b_hh_n: Tensor) -> Tensor:
    """The scan kernel of ``kind`` over x_proj [T, D, G, B]: [T, D, H, B]."""
    if kind == "rnn":
        return ElmanScan.apply(x_proj, w_hh)
    if kind == "lstm":
        return LSTMScan.apply(x_proj, w_hh, None, False)
    return GRUScan.apply(x_proj, w_hh, b_hh_n)


def module_weights(module: nn.RNNBase, layer: int, reverse: bool) -> tuple[Tensor, ...]:
    """(w_ih, w_hh, b_ih, b_hh) of one layer and direction of a torch recurrent module."""
    suffix = f"_l{layer}" + ("_reverse" if reverse else "")
    return tuple(
        getattr(module, f"{name}{suffix}")
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    )


def _layer_by_layer(
    kind: str, module: nn.RNNBase, seq: Tensor, lengths: Tensor, dropout: float, per_token: bool
) -> tuple[Tensor, Tensor | None]:
    """Each layer over the whole sequence in turn, both directions batched.

    Returns the top layer's states [T, D, B, H] (per direction's own time order) and, if
    per_token, its output sequence [T, B, D*H] in input order (else None: only the final
    states are read, and reordering the whole sequence would cost more than the layer).
    """
    directions = 2 if module.bidirectional else 1
    for layer in range(module.num_layers):
        if layer:
            seq = F.dropout(seq, dropout, module.training)
        weights = [module_weights(module, layer, bool(d)) for d in range(directions)]
        out = scan_layer(kind, seq, lengths, weights)
        if layer + 1 == module.num_layers and not per_token:
            return out, None
        seq = out[:, 0]
        if directions == 2:
            seq = torch.cat([seq, reverse_rows(out[:, 1], lengths)], -1)
    return out, seq


def run_stack(
    kind: str,
    module: nn.RNNBase,
    x: Tensor,
    lengths: Tensor,
    per_token: bool,
    dropout: float,
) -> Tensor:
    """Run ``module``'s layers over left-aligned x [B, L, I] with the fast kernels.

    Returns [B, L, D*H] per-token outputs (zeros at padding) or [B, D*H] final states
    (forward direction first), as FusedRecurrence's torch path does.
    """
    if not module.bias:
        raise ValueError("the scan kernels need a recurrent module with biases")
    batch, length, _ = x.shape
    check_lengths(lengths, length)
    lengths = lengths.to(x.device)
    steps = int(lengths.max()) if batch else 0
    seq = x[:, :steps].transpose(0, 1)  # [T, B, I]
    if not module.bidirectional and module.num_layers > 1:
        weights = [module_weights(module, layer, False) for layer in range(module.num_layers)]
        seq = wavefront_stack(kind, seq, weights, dropout, module.training)
        out = seq.unsqueeze(1)
    else:
        out, seq = _layer_by_layer(kind, module, seq, lengths, dropout, per_token)
    if per_token:
        real = torch.arange(steps, device=x.device)[:, None] < lengths[None, :]
        seq = (seq * real[..., None]).transpose(0, 1)
        return F.pad(seq, (0, 0, 0, length - steps))
    # The state after each row's last real step: time index lengths - 1, both directions.
    # gather reads the kernels' [T, D, H, B] memory in place; advanced indexing on this
    # transposed view copied the whole sequence first.
    by_row = out.permute(2, 1, 0, 3)  # [B, D, T, H]
    index = (lengths - 1).view(-1, 1, 1, 1).expand(-1, by_row.shape[1], 1, by_row.shape[3])
    return torch.gather(by_row, 2, index).flatten(1)  # [B, D*H]


def scan_lstm_variant(cell: Cell, x: Tensor) -> Tensor:
    """A peephole or CIFG LSTM cell over x [T, B, I] with the LSTM kernel: [T, B, H].

    Same parameters and maths as the cell's own step (the explicit loop in
    CellRecurrence, which the tests compare with this), computed as one layer scan.
    """
    coupled = isinstance(cell, CIFGLSTMCell)
    hidden = cell.hidden_size
    order = block_order(CIFG_BLOCKS if coupled else LSTM_BLOCKS, hidden, x.device)
    w_ih, w_hh = cell.weight_ih[order], cell.weight_hh[order]
    bias = (cell.bias_ih + cell.bias_hh)[order]
    x_proj = torch.matmul(w_ih, x.transpose(1, 2)) + bias[:, None]  # [T, G*H, B]
    peepholes = None
    if isinstance(cell, PeepholeLSTMCell):
        peepholes = torch.stack([cell.peephole_i, cell.peephole_f, cell.peephole_o])[None]
    out = LSTMScan.apply(x_proj.unsqueeze(1), w_hh[None], peepholes, coupled)
    return out[:, 0].transpose(1, 2)
