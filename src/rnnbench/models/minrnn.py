"""minGRU and minLSTM (Feng et al. 2024, "Were RNNs All We Needed?"), and their
bidirectional variants: arch names ``mingru``, ``minlstm``, ``bimingru``, ``biminlstm``.

Their gates read only the input, never the previous state, so a whole sequence is one
linear recurrence h_t = a_t * h_{t-1} + b_t, computed for all t at once with Heinsen's
log-space parallel scan (the paper's appendix B.3; h_0 = 0):

    log h_t = a*_t + logcumsumexp_{s<=t}(log b_s - a*_s),   a*_t = sum_{s<=t} log a_s

- minGRU: z_t = sigmoid(W_z x_t), h~_t = g(W_h x_t); a_t = 1 - z_t, b_t = z_t * h~_t.
- minLSTM: f_t = sigmoid(W_f x_t), i_t = sigmoid(W_i x_t), normalised to f' = f/(f+i),
  i' = i/(f+i); h~_t = g(W_h x_t); a_t = f'_t, b_t = i'_t * h~_t.

g(x) = x + 0.5 for x >= 0, sigmoid(x) below, keeps h~ (so h) positive, which the log
space needs.

Three ways to compute the recurrence (``impl``), tested equal in float64:

- ``"compiled"``: after the Linear, gates and recurrence one step at a time in the
  compiled kernels (scan.MinScan: one fused elementwise pass each way);
- ``"scan"``: the log-space parallel scan in torch ops;
- ``"loop"``: the cell's step in Python, one step at a time: the reference.

:func:`min_impl` picks between the first two per device, as measured (see there).

Rows come post-padded (RecurrentBody rolls pre-padded ones first). The forward direction
is causal, so padding after a row's end never reaches its real positions, and a sequence
is read at position lengths-1. The backward direction runs over each row reversed within
its length (padding stays in place after it), as torch's packed bidirectional RNNs do,
and its final state is read at position 0. Layers stack as torch stacks RNN layers (both
directions' outputs concatenated feed the next layer), with dropout between layers.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnbench.data.arrays import EncodedMeta
from rnnbench.experiment.tasks import task_of
from rnnbench.models import native
from rnnbench.models.bodies import RecurrentBody
from rnnbench.models.plan import Path
from rnnbench.models.recurrent import check_lengths, per_token_outputs
from rnnbench.models.scan import MinScan
from rnnbench.names import EXEC_COMPILED, EXEC_PARALLEL_SCAN, EXEC_PYTHON

IMPLS = ("compiled", "scan", "loop")
_LABELS = {"compiled": EXEC_COMPILED, "scan": EXEC_PARALLEL_SCAN, "loop": EXEC_PYTHON}


def min_impl(device: torch.device, path: Path | None = None) -> str:
    """How minGRU/minLSTM layers compute on ``device``: ``path`` forced (COMPILED: the
    compiled sequential scan, REFERENCE: the Python loop), else the faster as measured:
    on a CPU with the compiled kernels the sequential scan, 3.6-7.7x faster than the
    parallel scan at lengths 50, 200 and 1,000 (forward + backward of one layer, batch
    32, hidden 64, one thread, AMD EPYC; issue 28's notes), since both do O(T) work and
    the parallel one spends it on logs, exps and two cumulative sums over the whole
    sequence, each its own pass over memory; elsewhere (GPUs, where its parallelism
    pays; CPUs without a compiler) the parallel scan."""
    if path is None:
        compiled = device.type == "cpu" and native.available()
        return "compiled" if compiled else "scan"
    if Path(path) is Path.REFERENCE:
        return "loop"
    if Path(path) is Path.COMPILED:
        if device.type != "cpu" or not native.available():
            raise ValueError(f"no compiled kernels on {device}: {native.describe()}")
        return "compiled"
    raise ValueError("torch has no module for minGRU or minLSTM")


def g(x: Tensor) -> Tensor:
    return torch.where(x >= 0, x + 0.5, torch.sigmoid(x))


def log_g(x: Tensor) -> Tensor:
    return torch.where(x >= 0, torch.log(F.relu(x) + 0.5), -F.softplus(-x))


def parallel_scan_log(log_coeffs: Tensor, log_values: Tensor) -> Tensor:
    """h_t = a_t h_{t-1} + b_t from h_0 = 0, given log a and log b [B, T, H]: h [B, T, H]."""
    a_star = torch.cumsum(log_coeffs, dim=1)
    return torch.exp(a_star + torch.logcumsumexp(log_values - a_star, dim=1))


class MinGRULayer(nn.Module):
    """One minGRU direction: Linear(dim, 2H) gives the candidate and the update gate."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.hidden_size = hidden
        self.linear = nn.Linear(dim, 2 * hidden)

    def log_terms(self, x: Tensor) -> tuple[Tensor, Tensor]:
        candidate, gate = self.linear(x).chunk(2, dim=-1)
        log_z = -F.softplus(-gate)  # log sigmoid(gate)
        log_one_minus_z = -F.softplus(gate)  # log (1 - sigmoid(gate))
        return log_one_minus_z, log_z + log_g(candidate)

    def step(self, x_t: Tensor, h: Tensor) -> Tensor:
        candidate, gate = self.linear(x_t).chunk(2, dim=-1)
        z = torch.sigmoid(gate)
        return (1 - z) * h + z * g(candidate)


class MinLSTMLayer(nn.Module):
    """One minLSTM direction: Linear(dim, 3H) gives the candidate, forget and input gates."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.hidden_size = hidden
        self.linear = nn.Linear(dim, 3 * hidden)

    def log_terms(self, x: Tensor) -> tuple[Tensor, Tensor]:
        candidate, forget, inp = self.linear(x).chunk(3, dim=-1)
        # log f' = log(f / (f + i)) = -softplus(log i - log f), and likewise for i'.
        diff = F.softplus(-forget) - F.softplus(-inp)
        return -F.softplus(diff), -F.softplus(-diff) + log_g(candidate)

    def step(self, x_t: Tensor, h: Tensor) -> Tensor:
        candidate, forget, inp = self.linear(x_t).chunk(3, dim=-1)
        f, i = torch.sigmoid(forget), torch.sigmoid(inp)
        return f / (f + i) * h + i / (f + i) * g(candidate)


LAYERS: dict[str, type[nn.Module]] = {"mingru": MinGRULayer, "minlstm": MinLSTMLayer}


def _run(layer: nn.Module, x: Tensor, impl: str) -> Tensor:
    """One direction over x [B, T, I] from h_0 = 0: h [B, T, H]."""
    if impl == "compiled":
        return MinScan.apply(layer.linear(x), isinstance(layer, MinLSTMLayer))
    if impl == "scan":
        return parallel_scan_log(*layer.log_terms(x))
    h = x.new_zeros(x.shape[0], layer.hidden_size)
    outputs = []
    for x_t in x.unbind(1):
        h = layer.step(x_t, h)
        outputs.append(h)
    return torch.stack(outputs, dim=1)


def reverse_within_lengths(x: Tensor, lengths: Tensor) -> Tensor:
    """Each row's first lengths[b] positions of x [B, T, ...] reversed, the rest in place."""
    steps = x.shape[1]
    positions = torch.arange(steps, device=x.device)[None, :]
    last = lengths.to(x.device)[:, None] - 1
    index = torch.where(positions <= last, last - positions, positions)
    index = index.view(*index.shape, *([1] * (x.dim() - 2))).expand_as(x)
    return torch.gather(x, 1, index)


class MinRecurrence(nn.Module):
    """Stacked minGRU / minLSTM layers, one or two directions, over post-padded rows."""

    def __init__(
        self,
        kind: str,
        dim: int,
        hidden: int,
        layers: int,
        bidirectional: bool,
        dropout: float,
        impl: str | None = None,
    ) -> None:
        super().__init__()
        if impl is not None and impl not in IMPLS:
            raise ValueError(f"unknown minRNN impl {impl!r}; allowed: {', '.join(IMPLS)}")
        self.impl = impl or min_impl(torch.device("cpu"))
        self.num_directions = 2 if bidirectional else 1
        self.out_features = hidden * self.num_directions
        layer = LAYERS[kind]
        sizes = [dim] + [self.out_features] * (layers - 1)
        self.forward_layers = nn.ModuleList(layer(size, hidden) for size in sizes)
        self.backward_layers = nn.ModuleList(
            layer(size, hidden) for size in (sizes if bidirectional else [])
        )
        self.dropout = nn.Dropout(dropout)

    def plan_for(self, device: torch.device, path: Path | None = None) -> None:
        """Choose how the layers compute on ``device`` (:func:`min_impl`); bodies.plan_model
        calls it when the model is built for its device."""
        self.impl = min_impl(device, path)

    @property
    def exec_label(self) -> str:
        """What computes its layers, for metrics.json's exec_path (bodies.layer_paths)."""
        return _LABELS[self.impl]

    @property
    def num_layers(self) -> int:
        return len(self.forward_layers)

    def forward(self, h: Tensor, lengths: Tensor, per_token: bool) -> Tensor:
        batch, length, _ = h.shape
        check_lengths(lengths, length)
        lengths = lengths.to(h.device)
        seq = h[:, : int(lengths.max())]  # no row needs more steps than its length
        rows = torch.arange(batch, device=h.device)
        for index, forward_layer in enumerate(self.forward_layers):
            if index > 0:
                seq = self.dropout(seq)
            outputs = [_run(forward_layer, seq, self.impl)]
            if self.backward_layers:
                reversed_seq = reverse_within_lengths(seq, lengths)
                outputs.append(_run(self.backward_layers[index], reversed_seq, self.impl))
            if index + 1 == self.num_layers and not per_token:
                # Each direction's state after its last real step: the forward's at
                # lengths - 1, and the backward's at lengths - 1 of its own reading order
                # (position 0 once reversed back), read before any reversal or concat.
                return torch.cat([out[rows, lengths - 1] for out in outputs], dim=-1)
            if self.backward_layers:
                outputs[1] = reverse_within_lengths(outputs[1], lengths)
            seq = torch.cat(outputs, -1) if len(outputs) > 1 else outputs[0]
        return per_token_outputs(seq.transpose(0, 1), lengths, length)


def build_minrnn(name: str, meta: EncodedMeta, dim: int, cfg: Any) -> nn.Module:
    """The registry's builder for mingru, minlstm, bimingru and biminlstm."""
    bidirectional = name.startswith("bi")
    kind = name.removeprefix("bi")
    recurrence = MinRecurrence(kind, dim, cfg.hidden, cfg.layers, bidirectional, cfg.dropout)
    return RecurrentBody(recurrence, meta.padding, task_of(meta.task).tags_tokens)
