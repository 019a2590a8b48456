"""Recurrent cells written out from the textbook equations: one time step each.

The fused PyTorch modules (``nn.RNN``/``nn.LSTM``/``nn.GRU``) are opaque kernels; these
cells spell the same maths out in Python so the two can be compared, timed, and varied
(peephole, coupled gates). To make "same maths" testable, every cell keeps torch's
parameter layout: ``weight_ih [G*H, I]``, ``weight_hh [G*H, H]``, ``bias_ih [G*H]``,
``bias_hh [G*H]``, with the G gate blocks stacked in torch's order (LSTM: i, f, g, o;
GRU: r, z, n), so a fused layer's ``weight_ih_l0`` etc. copy over one to one.

A cell's input half, ``W_ih x + b_ih``, does not depend on the previous state, so the
time loop computes it for all steps in one matrix product (:meth:`Cell.project_input`)
and each step only adds the recurrent half. Same maths, far fewer small matmuls.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

State = tuple[Tensor, ...]  # (h,) or (h, c); h always comes first
Update = Callable[[Tensor, Tensor, State], State]  # Cell.update: the gate maths of a step


class Cell(nn.Module):
    """Base class: parameters, init and the input projection shared by every cell."""

    num_gates = 1  # G: how many H-sized blocks weight_ih/weight_hh stack
    num_states = 1  # 1 for (h,), 2 for LSTMs' (h, c)

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        rows = self.num_gates * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(rows, input_size))
        self.weight_hh = nn.Parameter(torch.empty(rows, hidden_size))
        self.bias_ih = nn.Parameter(torch.empty(rows))
        self.bias_hh = nn.Parameter(torch.empty(rows))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # torch's own init for nn.RNN/LSTM/GRU: everything ~ U(-1/sqrt(H), 1/sqrt(H)).
        bound = 1.0 / math.sqrt(self.hidden_size)
        for param in self.parameters():
            nn.init.uniform_(param, -bound, bound)

    def project_input(self, x: Tensor) -> Tensor:
        """W_ih x + b_ih for any number of leading dims: [..., I] -> [..., G*H]."""
        return F.linear(x, self.weight_ih, self.bias_ih)

    def initial_state(self, batch: int, like: Tensor) -> State:
        zeros = like.new_zeros(batch, self.hidden_size)
        return tuple(zeros for _ in range(self.num_states))

    def project_state(self, h: Tensor) -> Tensor:
        """W_hh h + b_hh: [..., H] -> [..., G*H]."""
        return F.linear(h, self.weight_hh, self.bias_hh)

    def forward(self, x_proj: Tensor, state: State) -> State:
        """One step: x_proj = project_input(x_t) [B, G*H], state -> next state."""
        return self.update(x_proj, self.project_state(state[0]), state)

    @staticmethod
    def update(x_proj: Tensor, h_proj: Tensor, state: State) -> State:
        """The gate maths given both projections; elementwise, so any leading dims work
        Cells with parameters of their own (peepholes) override it as a method."""
        raise NotImplementedError

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}"


class RNNCell(Cell):
    """Elman RNN: h = tanh(W_ih x + b_ih + W_hh h + b_hh)."""

    @staticmethod
    def update(x_proj: Tensor, h_proj: Tensor, state: State) -> State:
        return (torch.tanh(x_proj + h_proj),)


class LSTMCell(Cell):
    """Hochreiter & Schmidhuber LSTM with a forget gate, torch's gate order i, f, g, o."""

    num_gates = 4
    num_states = 2

    @staticmethod
    def update(x_proj: Tensor, h_proj: Tensor, state: State) -> State:
        _, c = state
        i, f, g, o = (x_proj + h_proj).chunk(4, dim=-1)
        i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
        c = f * c + i * g  # forget part of the old memory, write part of the candidate
        h = o * torch.tanh(c)  # expose part of the memory
        return h, c


class GRUCell(Cell):
    """Cho et al. GRU in torch's form (gate order r, z, n).

    n = tanh(W_in x + b_in + r * (W_hn h + b_hn)): the reset gate scales the *projected*
    state, bias included, as cuDNN and torch do. h = (1 - z) * n + z * h, so z is the
    "keep the old state" gate (some texts swap the roles of z and 1 - z).
    """

    num_gates = 3

    @staticmethod
    def update(x_proj: Tensor, h_proj: Tensor, state: State) -> State:
        (h,) = state
        x_r, x_z, x_n = x_proj.chunk(3, dim=-1)
        h_r, h_z, h_n = h_proj.chunk(3, dim=-1)
        r = torch.sigmoid(x_r + h_r)
        z = torch.sigmoid(x_z + h_z)
        n = torch.tanh(x_n + r * h_n)
        return ((1 - z) * n + z * h,)


class PeepholeLSTMCell(LSTMCell):
    """LSTM with peephole connections (Gers & Schmidhuber 2000).

    The gates also look at the memory cell through diagonal (elementwise) weights: the
    input and forget gates see c[t-1], the output gate sees the fresh c[t]. With the three
    peephole vectors at zero this is exactly :class:`LSTMCell`.
    """

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__(input_size, hidden_size)
        bound = 1.0 / math.sqrt(hidden_size)
        # Same init range as the other weights; there is no torch default to follow.
        self.peephole_i = nn.Parameter(torch.empty(hidden_size).uniform_(-bound, bound))
        self.peephole_f = nn.Parameter(torch.empty(hidden_size).uniform_(-bound, bound))
        self.peephole_o = nn.Parameter(torch.empty(hidden_size).uniform_(-bound, bound))

    def update(self, x_proj: Tensor, h_proj: Tensor, state: State) -> State:  # type: ignore[override]
        _, c_prev = state
        a_i, a_f, a_g, a_o = (x_proj + h_proj).chunk(4, dim=-1)
        i = torch.sigmoid(a_i + self.peephole_i * c_prev)
        f = torch.sigmoid(a_f + self.peephole_f * c_prev)
        c = f * c_prev + i * torch.tanh(a_g)
        o = torch.sigmoid(a_o + self.peephole_o * c)  # sees the updated cell
        return o * torch.tanh(c), c


class CIFGLSTMCell(Cell):
    """Coupled input-forget gate LSTM: c = f * c + (1 - f) * c~.

    There is no separate input gate: whatever is forgotten is replaced by the candidate.
    Gate blocks are torch's LSTM order with i removed: f, g, o (3H rows). Since
    1 - sigmoid(a) = sigmoid(-a), this equals an LSTM whose input-gate weights are the
    negated forget-gate weights.
    """

    num_gates = 3
    num_states = 2

    @staticmethod
    def update(x_proj: Tensor, h_proj: Tensor, state: State) -> State:
        _, c = state
        f, g, o = (x_proj + h_proj).chunk(3, dim=-1)
        f, g, o = torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
        c = f * c + (1 - f) * g
        return o * torch.tanh(c), c


def run_cell(
    update: Update,
    x: Tensor,
    weight_ih: Tensor,
    weight_hh: Tensor,
    bias_ih: Tensor,
    bias_hh: Tensor,
    num_states: int,
) -> Tensor:
    """One layer over time-major x [T, B, I] from the zero state, one step of ``update``
    at a time with autograd recording each: the hidden states [T, B, H].

    This loop is the reference path (models/plan.py): the textbook cells run on it, and
    so do torch's RNNs and GRUs where no compiled kernels are built (2.2-2.5x faster on
    CPUs than torch's own modules, which run one autograd node per step and gate).
    """
    batch = x.shape[1]
    # Feature-major products ([G*H, B] in memory) handed to the gate maths as [B, G*H]
    # views: each gate block is then contiguous, which makes sigmoid/tanh several times
    # faster than on a strided slice. Same values either way.
    x_proj = torch.matmul(weight_ih, x.transpose(1, 2)) + bias_ih[:, None]
    zeros = x.new_zeros(batch, weight_hh.shape[1])
    state: State = (zeros,) * num_states
    outputs = []
    # unbind: one backward node for all steps, where x_proj[t] would add one each.
    for x_t in x_proj.unbind(0):
        h_proj = torch.addmm(bias_hh[:, None], weight_hh, state[0].t())
        state = update(x_t.t(), h_proj.t(), state)
        outputs.append(state[0])
    return torch.stack(outputs)


CELLS: dict[str, type[Cell]] = {
    "rnn_cell": RNNCell,
    "lstm_cell": LSTMCell,
    "gru_cell": GRUCell,
    "lstm_peephole": PeepholeLSTMCell,
    "lstm_cifg": CIFGLSTMCell,
}
