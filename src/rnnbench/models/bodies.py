"""Bodies: [B, L, D] encoded inputs + lengths -> features for the head.

Every body is built for one of two output modes:

- sequence (``per_token=False``): one vector per example, [B, F];
- per token (``per_token=True``, NER): one vector per input position, [B, L, F].

``out_features`` (F) tells the head how wide its input is.

Recurrent bodies read exactly the real positions of each row and never padding (their
results do not depend on it; see recurrent.py). Each recurrence runs on the path its
plan names (models/plan.py), chosen when the model is built for its device:
:func:`plan_model`. Flatten and CNN see the whole padded row, as their Keras originals in
seed A do (which is part of what that experiment measures).
"""

from __future__ import annotations

from collections import Counter

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnbench.models.alignment import post_to_pre, pre_to_post
from rnnbench.models.cells import CELLS, Cell, run_cell
from rnnbench.models.padded import run_padded
from rnnbench.models.plan import (
    Path,
    Plan,
    choose_plan,
    takes_uniform_rows_plan,
    uniform_rows_plan,
)
from rnnbench.models.recurrent import (
    check_lengths,
    per_token_outputs,
    reference_stack,
    run_stack,
    scan_lstm_variant,
)
from rnnbench.models.step_compile import step_update
from rnnbench.names import EXEC_NO_RECURRENCE


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
CPU = torch.device("cpu")


class FusedRecurrence(nn.Module):
    """nn.RNN / nn.LSTM / nn.GRU parameters over left-aligned rows, padding never read.

    The parameters are the torch module's (``self.rnn``); its plan (models/plan.py) says
    which path computes with them: rnnbench's compiled kernels (recurrent.run_stack),
    torch's module itself (on packed sequences on a CPU, over the padded batch elsewhere:
    padded.py) or the loop over the textbook cell (recurrent.reference_stack). All give
    the same results.

    A planned (not forced) LSTM may take another path for a batch whose rows all have
    the same length (plan.uniform_rows_plan): decided once per batch shape
    (:meth:`plan_for_batch`), and counted per training batch (``batches``, which
    metrics.json's hardware.exec_batches reports as shares: :func:`batch_shares`).
    """

    def __init__(
        self,
        kind: str,
        dim: int,
        hidden: int,
        layers: int,
        bidirectional: bool,
        dropout: float,
        device: torch.device = CPU,
    ) -> None:
        super().__init__()
        self.kind = kind
        self.num_layers = layers
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
        self.plan_for(device)

    def plan_for(self, device: torch.device, path: Path | None = None) -> None:
        """Choose the path for ``device`` (or force ``path``); the forward keeps to it, and
        to the uniform-rows alternative where a planned path has one."""
        self.plan: Plan = choose_plan(self.kind, self.num_layers, self.num_directions, device, path)
        hidden = self.rnn.hidden_size
        self.uniform_plan = (
            None if path else uniform_rows_plan(self.kind, hidden, device, self.plan)
        )
        self.batch_plans: dict[tuple[int, int], Plan] = {}  # (rows, uniform length or 0)
        self.batches: Counter[str] = Counter()  # training batches per path label

    def plan_for_batch(self, lengths: Tensor) -> Plan:
        """The plan for a batch with these row lengths: the uniform-rows plan if every row
        has the same length, there is one and it takes this many rows
        (plan.takes_uniform_rows_plan), else the recurrence's own. Decided once per
        batch shape (rows, and the common length if any); only a recurrence with an
        alternative reads the lengths (on the CPU: no device sync)."""
        if self.uniform_plan is None or not lengths.numel():
            return self.plan
        low, high = int(lengths.min()), int(lengths.max())
        shape = (len(lengths), high if low == high else 0)
        if shape not in self.batch_plans:
            uniform = shape[1] and takes_uniform_rows_plan(self.num_directions, shape[0])
            self.batch_plans[shape] = self.uniform_plan if uniform else self.plan
        return self.batch_plans[shape]

    def forward(
        self, h: Tensor, lengths: Tensor, per_token: bool, embedding: nn.Module | None = None
    ) -> Tensor:
        """h: encoded inputs [B, L, D], or token ids [B, L] if ``embedding`` is given
        (the compiled path may then project them through the embedding table)."""
        plan = self.plan_for_batch(lengths)
        if self.training:
            self.batches[plan.label] += 1
        if plan.path is Path.COMPILED:
            check_lengths(lengths, h.shape[1])
            return run_stack(self.kind, self.rnn, h, lengths, per_token, embedding)
        if embedding is not None:
            h = embedding(h)
        if plan.path is Path.REFERENCE:
            check_lengths(lengths, h.shape[1])
            return reference_stack(self.kind, self.rnn, h, lengths, per_token)
        if plan.unpacked and plan is not self.uniform_plan:  # lengths checked on the device
            return run_padded(self.kind, self.rnn, h, lengths, per_token)
        check_lengths(lengths, h.shape[1])
        if plan is self.uniform_plan:
            # Every row has the same length: the module over those steps, no packing, is
            # exact (its backward direction starts at each row's last token) and runs
            # oneDNN's fused LSTM.
            steps = int(lengths[0])
            out, state = self.rnn(h[:, :steps])
            if per_token:
                return F.pad(out, (0, 0, 0, h.shape[1] - steps))
        else:
            # Packing runs each row for exactly lengths[b] steps; the backward direction
            # starts at the last real token. Packing needs the lengths on the CPU.
            lengths = lengths.cpu()
            packed = pack_padded_sequence(h, lengths, batch_first=True, enforce_sorted=False)
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
    """Stacked explicit cells: the readable twin of FusedRecurrence.

    Layers run one after another over the whole sequence (as torch stacks them), with
    dropout on the sequence passed between layers. Every row runs max(lengths) steps and
    its final state is read at its own last real step; as in recurrent.py, the steps
    after it reach nothing that is read and get zero gradient. Per-step outputs at
    padding are zero, as pad_packed_sequence leaves them.

    The textbook cells always run their reference loop (cells.run_cell), which is what
    they are for. Peephole and CIFG LSTMs have no library kernel; where the compiled
    kernels are built they run the LSTM kernel (recurrent.scan_lstm_variant, tested
    equal to the loop). On a GPU every cell runs its loop with each step compiled
    (step_compile.py, tested equal to the loop).
    """

    def __init__(
        self,
        cell: type[Cell],
        dim: int,
        hidden: int,
        layers: int,
        dropout: float,
        device: torch.device = CPU,
    ) -> None:
        super().__init__()
        self.kind = next(name for name, known in CELLS.items() if known is cell)
        self.num_layers = layers
        self.out_features = hidden
        sizes = [dim] + [hidden] * (layers - 1)
        self.cells = nn.ModuleList(cell(size, hidden) for size in sizes)
        self.dropout = nn.Dropout(dropout)
        self.plan_for(device)

    def plan_for(self, device: torch.device, path: Path | None = None) -> None:
        """Choose the path for ``device`` (or force ``path``); the forward keeps to it."""
        self.plan: Plan = choose_plan(self.kind, self.num_layers, 1, device, path)

    def forward(self, h: Tensor, lengths: Tensor, per_token: bool) -> Tensor:
        batch, length, _ = h.shape
        check_lengths(lengths, length)
        lengths = lengths.to(h.device)
        steps = int(lengths.max())  # no row needs more steps than its length
        seq = h[:, :steps].transpose(0, 1)  # time-major [T, B, I]
        compiled = self.plan.path is Path.COMPILED
        step_compiled = self.plan.path is Path.STEP_COMPILED
        for index, cell in enumerate(self.cells):
            if index > 0:
                seq = self.dropout(seq)
            if compiled:
                seq = scan_lstm_variant(cell, seq)
            else:
                update = step_update(cell) if step_compiled else cell.update
                weights = (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
                seq = run_cell(update, seq, *weights, cell.num_states)
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


Planned = FusedRecurrence | CellRecurrence


def plan_model(model: nn.Module, device: torch.device, path: Path | None = None) -> None:
    """Plan every recurrence of ``model`` for ``device`` (models/plan.py), once, when the
    model is built for it; ``path`` forces one path on all of them (tests, benchmarks).
    minGRU/minLSTM layers (minrnn.MinRecurrence, which imports this module) plan
    themselves through the same ``plan_for``."""
    for module in model.modules():
        if isinstance(module, Planned) or callable(getattr(module, "plan_for", None)):
            module.plan_for(device, path)


def layer_plans(model: nn.Module) -> list[Plan]:
    """The plan of each recurrent layer of ``model``, bottom up (one entry per layer; a
    bidirectional layer's directions share theirs); empty for a model with none."""
    return [m.plan for m in model.modules() if isinstance(m, Planned) for _ in range(m.num_layers)]


def layer_paths(model: nn.Module) -> list[str]:
    """What computes each recurrent layer, as planned, e.g. "compiled kernels":
    metrics.json's hardware.exec_layers. minGRU/minLSTM layers (fixed at construction,
    device-independent) report theirs as ``exec_label``."""
    labels = []
    for module in model.modules():
        if isinstance(module, Planned):
            labels += [module.plan.label] * module.num_layers
        elif isinstance(label := getattr(module, "exec_label", None), str):
            labels += [label] * module.num_layers
    return labels


def batch_shares(model: nn.Module) -> dict[str, float]:
    """The share of training batches each path computed, over the recurrences that choose
    per batch (FusedRecurrence.plan_for_batch): metrics.json's hardware.exec_batches,
    e.g. {"compiled kernels": 0.25, "torch module (oneDNN), unpacked": 0.75}. Empty where
    every batch took the plan's path (exec_path) or none was counted."""
    counts: Counter[str] = Counter()
    for module in model.modules():
        if isinstance(module, FusedRecurrence) and module.uniform_plan is not None:
            counts.update(module.batches)
    total = sum(counts.values())
    return {label: round(count / total, 4) for label, count in sorted(counts.items())}


def execution_path(model: nn.Module) -> str:
    """One line for the whole model: its layers' distinct paths (:func:`layer_paths`)
    joined by " + " in layer order, e.g. "compiled kernels", or EXEC_NO_RECURRENCE."""
    paths = layer_paths(model)
    return " + ".join(dict.fromkeys(paths)) if paths else EXEC_NO_RECURRENCE
