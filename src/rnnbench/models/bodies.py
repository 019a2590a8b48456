"""Bodies: [B, L, D] encoded inputs + lengths -> features for the head.

Every body is built for one of two output modes:

- sequence (``per_token=False``): one vector per example, [B, F];
- per token (``per_token=True``, NER): one vector per input position, [B, L, F].

``out_features`` (F) tells the head how wide its input is.

Recurrent bodies read exactly the real positions of each row and never padding: the
fused modules through ``pack_padded_sequence`` (on a GPU over the padded batch, exactly as
read: padded.py), the explicit cells by freezing the state
once a row's length is reached. Flatten and CNN see the whole padded row, as their Keras
originals in seed A do (which is part of what that experiment measures).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnbench.models import native
from rnnbench.models.alignment import post_to_pre, pre_to_post
from rnnbench.models.cells import Cell, CIFGLSTMCell, PeepholeLSTMCell
from rnnbench.models.padded import run_padded
from rnnbench.models.recurrent import (
    check_lengths,
    per_token_outputs,
    run_stack,
    scan_lstm_variant,
)
from rnnbench.names import (
    EXEC_COMPILED,
    EXEC_CUDNN,
    EXEC_NO_RECURRENCE,
    EXEC_ONEDNN,
    EXEC_PYTHON,
    EXEC_TORCH,
    UNPACKED,
)


class FlattenBody(nn.Module):
    """Concatenate all L position vectors: a bag-of-positions baseline (seed A's Flatten)."""

    def __init__(self, length: int, dim: int) -> None:
        super().__init__()
        self.length = length
        self.out_features = length * dim
        self.flatten = nn.Flatten()

    def forward(self, h: Tensor, lengths: Tensor) -> Tensor:
        if h.shape[1] != self.length:
            # The first Dense layer's width is tied to L, so any other L cannot work.
            raise ValueError(f"flatten was built for length {self.length}, got {h.shape[1]}")
        return self.flatten(h)


class ConvBody(nn.Module):
    """Conv1D + ReLU, then global average pooling (sequence) or per-position features.

    Sequence mode uses 'valid' convolution and averages *all* L - k + 1 windows, padding
    included: Keras' GlobalAveragePooling1D does that when no mask is propagated, and
    matching it keeps seed A comparable. Per-token mode uses 'same' padding so there is
    one feature vector per input position.
    """

    def __init__(self, dim: int, filters: int, kernel: int, per_token: bool) -> None:
        super().__init__()
        self.per_token = per_token
        self.out_features = filters
        self.conv = nn.Conv1d(dim, filters, kernel, padding="same" if per_token else "valid")

    def forward(self, h: Tensor, lengths: Tensor) -> Tensor:
        y = F.relu(self.conv(h.transpose(1, 2)))  # Conv1d wants channels first: [B, D, L]
        return y.transpose(1, 2) if self.per_token else y.mean(dim=-1)


_FUSED_MODULES: dict[str, type[nn.RNNBase]] = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
IMPLS = ("auto", "scan", "torch", "padded")


def fastest_impl(kind: str, layers: int, directions: int, device: torch.device) -> str:
    """The faster exact path for this layer, as measured in bench/RESULTS.md.

    On GPUs torch's cuDNN kernels over the padded batch (``"padded"``, models/padded.py:
    no packing, no host sync). On CPUs torch's LSTM has a fused oneDNN kernel that
    beats the scan kernel for a single unidirectional layer (1.4x at seed A); with the
    compiled kernels (native.available) rnnbench wins for bidirectional LSTMs (1.1x at
    seed A) and deep stacks (seed C), without them only for deep unidirectional stacks.
    torch's RNN and GRU run one autograd node per step and gate, and the scan kernels
    are 3-12x faster.
    """
    if device.type != "cpu":
        return "padded"
    if kind == "lstm" and layers == 1 and (directions == 1 or not native.available()):
        return "torch"
    return "scan"


def _scan_path(device: torch.device) -> str:
    """Whether rnnbench's scan kernels run compiled or as Python loops on ``device``
    (the models compute in float32, which native.usable accepts)."""
    return EXEC_COMPILED if device.type == "cpu" and native.available() else EXEC_PYTHON


def _torch_path(kind: str, device: torch.device) -> str:
    """What a torch nn.RNN/LSTM/GRU module runs on: cuDNN on GPUs (when enabled), and on
    CPUs oneDNN's fused kernel for LSTMs (torch has none for RNN and GRU)."""
    if device.type == "cuda":
        cudnn = torch.backends.cudnn
        return EXEC_CUDNN if cudnn.enabled and cudnn.is_available() else EXEC_TORCH
    mkldnn = torch.backends.mkldnn
    onednn = kind == "lstm" and device.type == "cpu" and mkldnn.is_available() and mkldnn.enabled
    return EXEC_ONEDNN if onednn else EXEC_TORCH


def layer_paths(model: nn.Module, device: torch.device) -> list[str]:
    """The execution path of each recurrent layer of ``model`` on ``device``, bottom up
    (one entry per layer; a bidirectional layer's directions share theirs); empty for a
    model with no recurrent layer.

    The same decisions the forward passes take (FusedRecurrence's impl and
    :func:`fastest_impl`, CellRecurrence's impl, native.usable), so the record says what
    ran, not what was asked for: ``impl="auto"`` is resolved.
    """
    paths: list[str] = []
    for module in model.modules():
        if isinstance(module, FusedRecurrence):
            layers = module.rnn.num_layers
            impl = module.impl
            if impl == "auto":
                impl = fastest_impl(module.kind, layers, module.num_directions, device)
            path = _scan_path(device) if impl == "scan" else _torch_path(module.kind, device)
            if impl == "padded":
                path += UNPACKED
            paths += [path] * layers
        elif isinstance(module, CellRecurrence):
            path = _scan_path(device) if module.impl == "scan" else EXEC_PYTHON
            paths += [path] * len(module.cells)
    return paths


def settle_paths(model: nn.Module, device: torch.device) -> None:
    """Fix every fused recurrence's ``impl="auto"`` to the path it takes on ``device``,
    once, when the model is built for it (train/loop.py). On a GPU that is the padded
    cuDNN path ("padded"); CPU models are left as built (their forward resolves "auto"
    by the same :func:`fastest_impl`, so nothing changes there)."""
    if device.type == "cpu":
        return
    for module in model.modules():
        if isinstance(module, FusedRecurrence) and module.impl == "auto":
            module.impl = fastest_impl(module.kind, module.rnn.num_layers, 1, device)


def execution_path(model: nn.Module, device: torch.device) -> str:
    """One line for the whole model: its layers' distinct paths (:func:`layer_paths`)
    joined by " + " in layer order, e.g. "compiled kernels", or EXEC_NO_RECURRENCE."""
    paths = layer_paths(model, device)
    return " + ".join(dict.fromkeys(paths)) if paths else EXEC_NO_RECURRENCE


class FusedRecurrence(nn.Module):
    """nn.RNN / nn.LSTM / nn.GRU parameters over left-aligned rows, padding never read.

    ``impl="scan"`` computes with rnnbench's whole-sequence kernels (recurrent.py);
    ``impl="torch"`` calls the torch module on a packed sequence, the reference the
    kernels are tested against; ``impl="padded"`` calls torch's kernels on the padded
    batch without packing (models/padded.py: the GPU path, exact too). Both read the same parameters and give the same results.
    ``impl="auto"`` (the default) picks the faster one, see :func:`fastest_impl`.
    """

    def __init__(
        self,
        kind: str,
        dim: int,
        hidden: int,
        layers: int,
        bidirectional: bool,
        dropout: float,
        impl: str = "auto",
    ) -> None:
        super().__init__()
        if impl not in IMPLS:
            raise ValueError(f"unknown recurrence impl {impl!r}; allowed: {', '.join(IMPLS)}")
        self.kind = kind
        self.impl = impl
        self.num_directions = 2 if bidirectional else 1
        self.out_features = hidden * self.num_directions
        self.rnn = _FUSED_MODULES[kind](
            dim,
            hidden,
            num_layers=layers,
            batch_first=True,
            bidirectional=bidirectional,
            # torch only applies dropout between layers and warns if there is none.
            dropout=dropout if layers > 1 else 0.0,
        )

    def forward(
        self, h: Tensor, lengths: Tensor, per_token: bool, embedding: nn.Module | None = None
    ) -> Tensor:
        """h: encoded inputs [B, L, D], or token ids [B, L] if ``embedding`` is given
        (the scan kernels may then project them through the embedding table)."""
        impl = self.impl
        if impl == "auto":
            impl = fastest_impl(self.kind, self.rnn.num_layers, self.num_directions, h.device)
        if impl == "padded":  # checks the lengths on the device: no host sync
            if embedding is not None:
                h = embedding(h)
            return run_padded(self.kind, self.rnn, h, lengths, per_token)
        check_lengths(lengths, h.shape[1])
        if impl == "scan":
            return run_stack(
                self.kind, self.rnn, h, lengths, per_token, self.rnn.dropout, embedding
            )
        if embedding is not None:
            h = embedding(h)
        # Packing runs each row for exactly lengths[b] steps; the backward direction starts
        # at the last real token. Packing needs the lengths on the CPU.
        packed = pack_padded_sequence(h, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, state = self.rnn(packed)
        if per_token:
            # Zeros at padding positions; total_length keeps the original L.
            seq, _ = pad_packed_sequence(out, batch_first=True, total_length=h.shape[1])
            return seq
        h_n = state[0] if isinstance(state, tuple) else state  # LSTMs return (h_n, c_n)
        # h_n is [layers * directions, B, H]; the top layer's rows come last, forward first.
        # Forward's final state is at the last real step, backward's at position 0.
        return torch.cat(list(h_n[-self.num_directions :]), dim=-1)


class CellRecurrence(nn.Module):
    """Stacked explicit cells, a Python loop over time: the readable twin of FusedRecurrence.

    Layers run one after another over the whole sequence (as torch stacks them), with
    dropout on the sequence passed between layers. Every row runs max(lengths) steps and
    its final state is read at its own last real step; as in recurrent.py, the steps
    after it reach nothing that is read and get zero gradient. Per-step outputs at
    padding are zero, as pad_packed_sequence leaves them.
    """

    def __init__(
        self, cell: type[Cell], dim: int, hidden: int, layers: int, dropout: float
    ) -> None:
        super().__init__()
        self.out_features = hidden
        sizes = [dim] + [hidden] * (layers - 1)
        self.cells = nn.ModuleList(cell(size, hidden) for size in sizes)
        self.dropout = nn.Dropout(dropout)
        # Peephole and CIFG LSTMs have no library kernel, so by default they run the LSTM
        # scan kernel (recurrent.scan_lstm_variant, tested equal to this loop); the
        # textbook cells stay explicit loops, which is what they are for.
        self.impl = "scan" if cell in (PeepholeLSTMCell, CIFGLSTMCell) else "loop"

    def forward(self, h: Tensor, lengths: Tensor, per_token: bool) -> Tensor:
        batch, length, _ = h.shape
        check_lengths(lengths, length)
        lengths = lengths.to(h.device)
        steps = int(lengths.max())  # no row needs more steps than its length
        seq = h[:, :steps].transpose(0, 1)  # time-major [T, B, I]
        for index, cell in enumerate(self.cells):
            if index > 0:
                seq = self.dropout(seq)
            if self.impl == "scan":
                seq = scan_lstm_variant(cell, seq)
                continue
            # Feature-major products ([G*H, B] in memory) handed to the gate maths as
            # [B, G*H] views: each gate block is then contiguous, which makes sigmoid/tanh
            # several times faster than on a strided slice. Same values either way.
            x_proj = torch.matmul(cell.weight_ih, seq.transpose(1, 2)) + cell.bias_ih[:, None]
            state = cell.initial_state(batch, h)
            outputs = []
            # unbind: one backward node for all steps, where x_proj[t] would add one each.
            for x_t in x_proj.unbind(0):
                h_proj = torch.addmm(cell.bias_hh[:, None], cell.weight_hh, state[0].t())
                state = cell.update(x_t.t(), h_proj.t(), state)
                outputs.append(state[0])
            seq = torch.stack(outputs)
        if per_token:
            return per_token_outputs(seq, lengths, length)
        return seq[lengths - 1, torch.arange(batch, device=h.device)]


class RecurrentBody(nn.Module):
    """Wraps a recurrence (fused or explicit) with the padding-side bookkeeping.

    Both recurrences expect each row's real positions first. Pre-padded rows are rolled
    into that form, and per-token outputs rolled back to the input positions.
    """

    def __init__(self, recurrence: nn.Module, padding: str, per_token: bool) -> None:
        super().__init__()
        self.recurrence = recurrence
        self.pre_padded = padding == "pre"
        self.per_token = per_token
        self.out_features: int = recurrence.out_features
        # A fused recurrence embeds token ids itself when given the embedding (its first
        # layer may then look its projection up per token, recurrent.project_table).
        self.takes_token_ids = isinstance(recurrence, FusedRecurrence)

    def forward(self, h: Tensor, lengths: Tensor, embedding: nn.Module | None = None) -> Tensor:
        """h: encoded inputs [B, L, D], or token ids [B, L] with their ``embedding``
        (only if ``takes_token_ids``)."""
        if self.pre_padded:
            h = pre_to_post(h, lengths)
        if embedding is None:
            out = self.recurrence(h, lengths, self.per_token)
        else:
            out = self.recurrence(h, lengths, self.per_token, embedding)
        if self.per_token and self.pre_padded:
            out = post_to_pre(out, lengths)
        return out
