"""A whole recurrent layer in one compiled pass: input projection, time loop and every
weight gradient (native/kernels.cpp, ``*_layer_forward`` / ``*_layer_backward``).

Why: run as projection + scan (scan.py) + weight products, a layer with a small hidden
size writes and rereads its [T, G, B] pre-activations, gates and their gradients several
times over; at seed C (25 layers of hidden 8, batch 1000) that memory traffic was most of
the time. The compiled layer keeps a step's pre-activations in cache, stores only the
states (and the LSTM's cells and activated gates; the RNN's and GRU's gates are
recomputed in the backward), and adds the weight gradients up in cache: 1.7x faster per
GRU layer at seed C.

Same maths, parameters and layout as ``project`` + ``scan_layer`` in recurrent.py (the
tests compare both, in float64, outputs and every gradient); recurrent.run_stack picks
between them by shape. Under autocast both run in float32 (scan.full_precision).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd import Function

from rnnbench.models import native
from rnnbench.models.scan import full_precision

# The kernels' name per kind.
_KERNEL = {"rnn": "elman", "lstm": "lstm", "gru": "gru"}
# A single direction of at least this many columns (and at most native's group) is cut
# into two pieces, so that two threads share it.
SPLIT_MIN_COLUMNS = 64


def layer_group(dirs: int, batch: int) -> int:
    """Columns per piece of a compiled layer over ``dirs`` directions of ``batch``
    columns: native's groups, except that one direction of SPLIT_MIN_COLUMNS to a
    group's columns is cut in two (the first half rounded up to 32 columns, the kernels'
    register block). A shape rule: the pieces, and so the order in which the weight
    gradients' partial sums are added, never depend on the thread count."""
    if dirs > 1 or not SPLIT_MIN_COLUMNS <= batch <= native.GROUP:
        return native.GROUP
    return 32 * -(-batch // 64)


def layer_pieces(dirs: int, batch: int) -> int:
    """How many pieces (directions x column groups) a compiled layer runs as."""
    return len(native.pieces(dirs, batch, layer_group(dirs, batch)))


class CompiledLayer(Function):
    """inputs [T, D, F, B] -> states [T, D, H, B], each direction in its reading order.

    Weights as ``recurrent.layer_weights`` gives them: w_ih [D, G, F], w_hh [D, G, H],
    bias [D, G] (every bias that simply adds), b_hn [D, H] (the GRU's reset-gated bias;
    unused by the others).
    """

    @staticmethod
    @full_precision
    def forward(
        ctx, kind: str, inputs: Tensor, w_ih: Tensor, w_hh: Tensor, bias: Tensor, b_hn: Tensor
    ) -> Tensor:
        steps, dirs, features, batch = inputs.shape
        hidden = w_hh.shape[2]
        leading = [inputs.contiguous(), w_ih.contiguous(), w_hh.contiguous(), bias.contiguous()]
        if kind == "gru":
            leading.append(b_hn.contiguous())
        states = [inputs.new_empty(steps, dirs, hidden, batch)]
        if kind == "lstm":
            states.append(torch.empty_like(states[0]))  # the cells, for the backward
            states.append(inputs.new_empty(steps, dirs, 4 * hidden, batch))  # its gates
        dims = (steps, dirs, hidden, batch)
        group = layer_group(dirs, batch)
        native.run(f"{_KERNEL[kind]}_layer_forward", dims, features, *leading, *states, group=group)
        ctx.save_for_backward(*leading, *states)
        ctx.kind, ctx.leading = kind, len(leading)
        return states[0]

    @staticmethod
    @full_precision
    def backward(ctx, grad_out: Tensor) -> tuple[Tensor | None, ...]:
        saved = ctx.saved_tensors
        leading, states = saved[: ctx.leading], saved[ctx.leading :]
        inputs, w_ih, w_hh = leading[:3]
        steps, dirs, features, batch = inputs.shape
        gates, hidden = w_hh.shape[1:]
        # Each piece (one direction, a group of columns) returns its partial sums of
        # [dW_ih | dW_hh | bias (| b_hn)]; they are added here, per direction.
        widths = [gates * features, gates * hidden, gates] + ([hidden] if ctx.kind == "gru" else [])
        partial = inputs.new_empty(layer_pieces(dirs, batch), sum(widths))
        d_inputs = torch.empty_like(inputs)
        dims = (steps, dirs, hidden, batch)
        args = (*leading, *states, grad_out.contiguous(), d_inputs, partial)
        group = layer_group(dirs, batch)
        native.run(f"{_KERNEL[ctx.kind]}_layer_backward", dims, features, *args, group=group)
        grads = native.sum_over_pieces(partial, dirs).split(widths, 1)
        d_b_hn = grads[3] if ctx.kind == "gru" else None
        d_w_ih, d_w_hh = grads[0].view(w_ih.shape), grads[1].view(w_hh.shape)
        return None, d_inputs, d_w_ih, d_w_hh, grads[2], d_b_hn


def compiled_layer(
    kind: str, inputs: Tensor, w_ih: Tensor, w_hh: Tensor, bias: Tensor, b_hn: Tensor
) -> Tensor:
    """One layer over inputs [T, D, F, B] (direction d's inputs in its reading order):
    states [T, D, H, B]."""
    return CompiledLayer.apply(kind, inputs, w_ih, w_hh, bias, b_hn)


class TableProjection(Function):
    """The first layer's input projection from token ids, by table lookup.

    x_proj[t, d] = W_ih[d] E[ids[t, d]] + bias[d] = table[d][:, ids[t, d]], where the
    table W_ih[d] E^T + bias[d] [D, G, V] covers the whole vocabulary. When the gates are
    narrower than the embedding and the vocabulary is no larger than the batch's tokens,
    this replaces the [B, T, E] embedded batch, its product and both their gradients
    (seed C: 51 MB each) with a [D, G, V] table and a gather.

    ids [T, D, B] int64 (direction d's in its reading order); table E [V, E]; w_ih
    [D, G, E]; bias [D, G]. The embedding's ``padding_idx`` row gets no gradient, as in
    ``nn.Embedding``; its positions still count for W_ih and the bias, as they do there.
    """

    @staticmethod
    @full_precision
    def forward(
        ctx,
        ids: Tensor,
        embedding: Tensor,
        w_ih: Tensor,
        bias: Tensor,
        padding_idx: int | None,
    ) -> Tensor:
        steps, dirs, batch = ids.shape
        vocab = embedding.shape[0]
        gates = w_ih.shape[1]
        table = torch.baddbmm(bias[..., None], w_ih, embedding.t().expand(dirs, -1, -1))
        x_proj = embedding.new_empty(steps, dirs, gates, batch)
        native.run("table_gather", (steps, dirs, gates, batch), vocab, ids, table, x_proj)
        ctx.save_for_backward(ids, embedding, w_ih)
        ctx.padding_idx = padding_idx
        return x_proj

    @staticmethod
    @full_precision
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, ...]:
        ids, embedding, w_ih = ctx.saved_tensors
        steps, dirs, batch = ids.shape
        vocab = embedding.shape[0]
        gates = w_ih.shape[1]
        # Per piece (one direction, a group of columns) a [G, V] block of per-token sums,
        # added here per direction in a fixed order.
        partial = grad.new_zeros(len(native.pieces(dirs, batch)), gates, vocab)
        dims = (steps, dirs, gates, batch)
        native.run("table_scatter", dims, vocab, ids, grad.contiguous(), partial)
        d_table = native.sum_over_pieces(partial, dirs)  # [D, G, V]
        d_embedding = torch.einsum("dgv,dge->ve", d_table, w_ih)
        if ctx.padding_idx is not None:
            d_embedding[ctx.padding_idx] = 0
        d_w_ih = torch.bmm(d_table, embedding.expand(dirs, -1, -1))
        return None, d_embedding, d_w_ih, d_table.sum(2), None
