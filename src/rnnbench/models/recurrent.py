"""Stacks of RNN / LSTM / GRU layers, run layer by layer: the compiled path and the
reference path of models/plan.py.

The compiled path (:func:`run_stack`): a layer whose work splits into two or more pieces
(directions x column groups of the batch) runs as one compiled pass: projection, time
loop and weight gradients (compiled_layer.py); other layers run as an input projection
plus the compiled time loop (scan.py). A text model's first layer looks its projection
up in a per-token table when its gates are narrower than the embedding (project_table).
Which of these a layer takes is decided by shape alone, so the thread count never
changes the path (or the rounding) a model gets.

The reference path (:func:`reference_stack`): the same layers as loops over the textbook
cells' maths (cells.run_cell), autograd recording every step.

The parameters are those of a torch ``nn.RNN``/``nn.LSTM``/``nn.GRU`` module (same names,
shapes and init, so checkpoints and parameter counts do not change); only the
computation differs. Semantics are those of packed sequences: row b is read for exactly
``lengths[b]`` steps, its final state is the one at its last real step, the backward
direction starts at its last real token, and per-token outputs are zero at padding.

Both paths run every row for max(lengths) steps instead of skipping padding. That
gives the same outputs and the same gradients: rows are left-aligned, so positions after
a row's end come after everything that is read from it; their values reach nothing that
is read, and the gradient flowing into them is exactly zero.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnbench.models import native
from rnnbench.models.cells import (
    Cell,
    CIFGLSTMCell,
    GRUCell,
    LSTMCell,
    PeepholeLSTMCell,
    RNNCell,
    run_cell,
)
from rnnbench.models.compiled_layer import TableProjection, compiled_layer, layer_pieces
from rnnbench.models.scan import ElmanScan, GRUScan, LSTMScan


def check_lengths(lengths: Tensor, length: int) -> None:
    if lengths.numel() and (int(lengths.min()) < 1 or int(lengths.max()) > length):
        raise ValueError(
            f"every row needs a length in [1, {length}], got lengths from "
            f"{int(lengths.min())} to {int(lengths.max())}"
        )


def _reversed_steps(steps: int, lengths: Tensor) -> Tensor:
    """[T, B] source step of each step: the row's real steps reversed, the rest in place."""
    positions = torch.arange(steps, device=lengths.device)[:, None].expand(steps, len(lengths))
    last = lengths[None, :] - 1
    return torch.where(positions <= last, last - positions, positions)


def reverse_rows(x: Tensor, lengths: Tensor, batch_last: bool = False) -> Tensor:
    """Time-major x [T, B, ...] (or [T, ..., B] if batch_last): reverse each row's first
    lengths[b] steps, keep the rest.

    Its own inverse. This is how the backward direction reads a row from its last real
    token, as packing does.
    """
    index = _reversed_steps(x.shape[0], lengths.to(x.device))
    ones = [1] * (x.dim() - 2)
    shape = [index.shape[0], *ones, index.shape[1]] if batch_last else [*index.shape, *ones]
    return torch.gather(x, 0, index.view(shape).expand_as(x))


def block_order(blocks: list[int], hidden: int, device: torch.device) -> Tensor:
    """Row permutation that puts a gate-stacked weight's H-row blocks in ``blocks`` order."""
    index = torch.tensor(blocks, device=device)
    return (index[:, None] * hidden + torch.arange(hidden, device=device)).flatten()


# torch's LSTM blocks (i, f, g, o) to the LSTM kernel's (o, i, f, g); CIFG's (f, g, o) to
# (o, f, g).
LSTM_BLOCKS, CIFG_BLOCKS = [3, 0, 1, 2], [2, 0, 1]


def layer_weights(
    kind: str, weights: list[tuple[Tensor, ...]]
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(w_ih [D, G, I], w_hh [D, G, H], bias [D, G], b_hn [D, H]) for the kernels.

    weights[d] = (w_ih, w_hh, b_ih, b_hh) of direction d in torch's layout. LSTM gate
    blocks come in the kernel's order; ``bias`` is every bias that simply adds (for the
    GRU, b_hn stays inside the reset gate's product and is returned apart).
    """
    w_ih, w_hh, b_ih, b_hh = (torch.stack(parts) for parts in zip(*weights, strict=True))
    hidden = w_hh.shape[2]
    if kind == "lstm":
        order = block_order(LSTM_BLOCKS, hidden, w_ih.device)
        w_ih, w_hh, b_ih, b_hh = w_ih[:, order], w_hh[:, order], b_ih[:, order], b_hh[:, order]
    folded = F.pad(b_hh[:, : 2 * hidden], (0, hidden)) if kind == "gru" else b_hh
    return w_ih, w_hh, b_ih + folded, b_hh[:, 2 * hidden :]


def project(inputs: Tensor, w_ih: Tensor, bias: Tensor) -> Tensor:
    """x_proj[t, d] = W_ih[d] inputs[t, d] + bias[d]: [T, D, I, B] -> [T, D, G, B].

    One bmm over the T * D pairs, straight into the kernels' layout.
    """
    steps, dirs, size, batch = inputs.shape
    width = w_ih.shape[1]
    return torch.baddbmm(
        bias[..., None].expand(steps, -1, -1, -1).reshape(-1, width, 1),
        w_ih.expand(steps, -1, -1, -1).reshape(-1, width, size),
        inputs.reshape(-1, size, batch),
    ).view(steps, dirs, width, batch)


def project_rows(x: Tensor, w_ih: Tensor, bias: Tensor, lengths: Tensor) -> Tensor:
    """The same from batch-first rows x [B, T, I]: one matrix product in that layout,
    then one transposing copy of the (narrower) result into [T, D, G, B].

    For inputs wider than the gates (seed C: 64 embedding dims into 8-32 gate rows) this
    moves far less memory than transposing the inputs, and a product with a wide
    reduction runs faster than T small ones (measured 4x on the first layer at seed C).
    """
    batch, steps, size = x.shape
    dirs, width, _ = w_ih.shape
    rows = torch.addmm(bias.reshape(-1), x.reshape(-1, size), w_ih.reshape(-1, size).t())
    x_proj = rows.view(batch, steps, dirs, width).permute(1, 2, 3, 0).contiguous()
    if dirs == 2:  # the backward direction reads each row reversed: so does its projection
        x_proj = torch.stack([x_proj[:, 0], reverse_rows(x_proj[:, 1], lengths, True)], 1)
    return x_proj


def table_pays(embedding: nn.Module | None, x: Tensor, gates: int, directions: int) -> bool:
    """Whether the first layer projects token ids x [B, T] through ``embedding`` by table
    lookup (project_table) rather than embedding them first.

    It pays when the gates are narrower than the embedding (the table's columns are
    shorter than the vectors they replace), the vocabulary is no larger than the batch's
    tokens (the table costs V products, the batch T * B), and the backward's per-piece
    gradient sums ([pieces, G, V]) are no larger than the embedded batch [B, T, E] they
    replace. Only a plain ``nn.Embedding`` (no max_norm, frequency scaling or sparse
    gradient).
    """
    if not isinstance(embedding, nn.Embedding) or x.is_floating_point():
        return False
    batch, steps = x.shape
    vocab, dim = embedding.weight.shape
    pieces = len(native.pieces(directions, batch))
    return (
        embedding.max_norm is None
        and not embedding.scale_grad_by_freq
        and not embedding.sparse
        and dim > gates
        and vocab <= batch * steps
        and pieces * gates * vocab <= batch * steps * dim
    )


def project_table(
    ids: Tensor, embedding: nn.Embedding, w_ih: Tensor, bias: Tensor, lengths: Tensor
) -> Tensor:
    """x_proj [T, D, G, B] of token ids [B, T] embedded by ``embedding``: equal to
    project_rows(embedding(ids), ...), through a [D, G, V] table (TableProjection)."""
    vocab = embedding.num_embeddings
    if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= vocab):
        raise IndexError(
            f"token ids must be in [0, {vocab}) for an embedding of {vocab} rows, got ids "
            f"from {int(ids.min())} to {int(ids.max())}"
        )
    by_step = ids.t()  # [T, B]
    per_direction = [by_step, reverse_rows(by_step, lengths)][: w_ih.shape[0]]
    ids = torch.stack(per_direction, 1).contiguous()  # [T, D, B]
    return TableProjection.apply(ids, embedding.weight, w_ih, bias, embedding.padding_idx)


def scan_layer(kind: str, x_proj: Tensor, w_hh: Tensor, b_hn: Tensor) -> Tensor:
    """One layer's compiled time loop over its input projection x_proj [T, D, G, B]:
    [T, D, H, B], all directions in one call. Direction d's x_proj[:, d] is in the order
    that direction reads its input."""
    if kind == "rnn":
        return ElmanScan.apply(x_proj, w_hh)
    if kind == "lstm":
        return LSTMScan.apply(x_proj, w_hh, None, False)
    return GRUScan.apply(x_proj, w_hh, b_hn)


def module_weights(module: nn.RNNBase, layer: int, reverse: bool) -> tuple[Tensor, ...]:
    """(w_ih, w_hh, b_ih, b_hh) of one layer and direction of a torch recurrent module."""
    suffix = f"_l{layer}" + ("_reverse" if reverse else "")
    return tuple(
        getattr(module, f"{name}{suffix}")
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    )


def _both_directions(seq: Tensor, lengths: Tensor) -> Tensor:
    """A bidirectional layer's inputs from seq [T, F, B]: [T, 2, F, B], the second
    direction reading each row backwards from its last real step."""
    return torch.stack([seq, reverse_rows(seq, lengths, batch_last=True)], 1)


def _in_input_order(out: Tensor, lengths: Tensor) -> Tensor:
    """[T, D, H, B] states, each direction in its reading order -> [T, D*H, B] in input order."""
    if out.shape[1] == 1:
        return out.squeeze(1)  # a view both ways (out[:, 0]'s backward zero-fills a copy)
    return torch.cat([out[:, 0], reverse_rows(out[:, 1], lengths, batch_last=True)], 1)


def _compiled_layer_pays(inputs: Tensor) -> bool:
    """Whether a layer over inputs [T, D, F, B] runs as one compiled pass (compiled_layer).

    Only where its work splits into two or more pieces (directions x column groups of
    the batch: compiled_layer.layer_group): a single piece runs on one thread, while
    projection + scan has MKL's parallel products. Measured at seed A (bench/RESULTS.md
    "Compiled layer"): faster than projection + scan at one thread and two, for one
    direction cut in two pieces as for two directions.
    """
    _, dirs, _, batch = inputs.shape
    return layer_pieces(dirs, batch) > 1


def _layer_by_layer(
    kind: str,
    module: nn.RNNBase,
    x: Tensor,
    lengths: Tensor,
    dropout: float,
    embedding: nn.Embedding | None,
) -> Tensor:
    """Each layer over the whole sequence in turn, directions batched; x [B, T, I], or
    token ids [B, T] that the first layer projects through ``embedding`` (project_table).

    Returns the top layer's states [T, D, H, B], each direction in its own time order.
    """
    directions = 2 if module.bidirectional else 1
    for layer in range(module.num_layers):
        weights = [module_weights(module, layer, bool(d)) for d in range(directions)]
        w_ih, w_hh, bias, b_hn = layer_weights(kind, weights)
        if layer == 0 and embedding is not None:
            out = scan_layer(kind, project_table(x, embedding, w_ih, bias, lengths), w_hh, b_hn)
        elif layer == 0 and x.shape[2] > w_ih.shape[1]:
            out = scan_layer(kind, project_rows(x, w_ih, bias, lengths), w_hh, b_hn)
        else:
            if layer == 0:  # feature-major [T, I, B], as later layers' inputs already are
                seq = x.permute(1, 2, 0)
            inputs = _both_directions(seq, lengths) if directions == 2 else seq.unsqueeze(1)
            if _compiled_layer_pays(inputs):
                out = compiled_layer(kind, inputs, w_ih, w_hh, bias, b_hn)
            else:
                out = scan_layer(kind, project(inputs, w_ih, bias), w_hh, b_hn)
        if layer + 1 < module.num_layers:
            seq = F.dropout(_in_input_order(out, lengths), dropout, module.training)
    return out


def run_stack(
    kind: str,
    module: nn.RNNBase,
    x: Tensor,
    lengths: Tensor,
    per_token: bool,
    embedding: nn.Module | None = None,
) -> Tensor:
    """Run ``module``'s layers over left-aligned x [B, L, I] with the compiled kernels; or
    over token ids x [B, L] embedded by ``embedding``.

    Returns [B, L, D*H] per-token outputs (zeros at padding) or [B, D*H] final states
    (forward direction first), as torch's module on packed sequences does.
    """
    if not module.bias:
        raise ValueError("the compiled kernels need a recurrent module with biases")
    batch, length = x.shape[:2]  # lengths already checked by the caller (check_lengths)
    lengths = lengths.to(x.device)
    steps = int(lengths.max()) if batch else 0
    x = x[:, :steps]
    directions = 2 if module.bidirectional else 1
    if embedding is not None and not table_pays(
        embedding, x, module.weight_ih_l0.shape[0], directions
    ):
        x, embedding = embedding(x), None
    out = _layer_by_layer(kind, module, x, lengths, module.dropout, embedding)
    if per_token:
        return per_token_outputs(_in_input_order(out, lengths).permute(0, 2, 1), lengths, length)
    return LastStates.apply(out, lengths)  # [B, D*H]


class LastStates(torch.autograd.Function):
    """states [T, D, H, B] -> [B, D*H]: each row's state after its last real step (time
    index lengths - 1 in every direction's reading order), forward direction first.

    As torch.gather over the states seen as [B, D, T, H], whose backward scatters into
    zeros of that shape; the kernels then need the gradient in the states' own layout,
    and that transposing copy of a mostly-zero [T, D, H, B] tensor cost 1.6 ms of a
    20 ms BiLSTM step at seed A (1 thread, AMD EPYC). This backward scatters the same
    values, added to zeros the same way, straight into the states' layout.
    """

    @staticmethod
    def forward(ctx, states: Tensor, lengths: Tensor) -> Tensor:
        index = _last_step_index(states, lengths)
        ctx.save_for_backward(index)
        ctx.shape = states.shape
        return torch.gather(states.permute(3, 1, 0, 2), 2, index).flatten(1)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:
        (index,) = ctx.saved_tensors
        d_states = grad.new_zeros(ctx.shape)
        by_row = d_states.permute(3, 1, 0, 2)  # a view: the scatter writes d_states
        by_row.scatter_add_(2, index, grad.reshape(index.shape))
        return d_states, None


def _last_step_index(states: Tensor, lengths: Tensor) -> Tensor:
    """gather's index into states [T, D, H, B] seen as [B, D, T, H]: lengths - 1."""
    _, dirs, hidden, _ = states.shape
    return (lengths - 1).view(-1, 1, 1, 1).expand(-1, dirs, 1, hidden)


_CELLS: dict[str, type[Cell]] = {"rnn": RNNCell, "lstm": LSTMCell, "gru": GRUCell}


def reference_stack(
    kind: str, module: nn.RNNBase, x: Tensor, lengths: Tensor, per_token: bool
) -> Tensor:
    """``module``'s layers over left-aligned x [B, L, I] as loops over the textbook cell
    (cells.run_cell), directions one after the other: the same results as run_stack.

    torch keeps its gate blocks in the cells' order (LSTM i, f, g, o; GRU r, z, n with
    b_hn inside the reset gate's product), so the module's weights go in as they are.
    """
    batch, length = x.shape[:2]  # lengths already checked by the caller (check_lengths)
    lengths = lengths.to(x.device)
    cell = _CELLS[kind]
    directions = 2 if module.bidirectional else 1
    steps = int(lengths.max()) if batch else 0
    seq = x[:, :steps].transpose(0, 1)  # time-major [T, B, I]
    last: list[Tensor] = []
    for layer in range(module.num_layers):
        if layer:
            seq = F.dropout(seq, module.dropout, module.training)
        outputs, last = [], []
        for direction in range(directions):
            weights = module_weights(module, layer, bool(direction))
            # The backward direction reads each row from its last real token.
            inputs = reverse_rows(seq, lengths) if direction else seq
            out = run_cell(cell.update, inputs, *weights, cell.num_states)
            last.append(out[lengths - 1, torch.arange(batch, device=x.device)])
            outputs.append(reverse_rows(out, lengths) if direction else out)
        seq = torch.cat(outputs, -1)
    if per_token:
        return per_token_outputs(seq, lengths, length)
    return torch.cat(last, -1)


def per_token_outputs(seq: Tensor, lengths: Tensor, length: int) -> Tensor:
    """Time-major outputs seq [T, B, F] (any strides) -> [B, length, F], zero at padding,
    as pad_packed_sequence leaves them."""
    steps = seq.shape[0]
    real = torch.arange(steps, device=seq.device)[:, None] < lengths[None, :]  # [T, B]
    return F.pad((seq * real[..., None]).transpose(0, 1), (0, 0, 0, length - steps))


def scan_lstm_variant(cell: Cell, x: Tensor) -> Tensor:
    """A peephole or CIFG LSTM cell over x [T, B, I] with the compiled LSTM kernel:
    [T, B, H].

    Same parameters and maths as the cell's own step (its reference path, cells.run_cell,
    which the tests compare with this), computed as one layer scan.
    """
    coupled = isinstance(cell, CIFGLSTMCell)
    hidden = cell.hidden_size
    order = block_order(CIFG_BLOCKS if coupled else LSTM_BLOCKS, hidden, x.device)
    w_ih, w_hh = cell.weight_ih[order], cell.weight_hh[order]
    bias = (cell.bias_ih + cell.bias_hh)[order]
    x_proj = project(x.permute(0, 2, 1).unsqueeze(1), w_ih[None], bias[None])  # [T, 1, G, B]
    peepholes = None
    if isinstance(cell, PeepholeLSTMCell):
        peepholes = torch.stack([cell.peephole_i, cell.peephole_f, cell.peephole_o])[None]
    out = LSTMScan.apply(x_proj, w_hh[None], peepholes, coupled)
    return out[:, 0].transpose(1, 2)
