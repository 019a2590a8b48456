"""The naive baseline: a per-time-step Python loop, layer after layer, as notebooks write it.

Same parameters, same maths as an rnnbench recurrent model (its weights are copied into
torch's per-step cells ``nn.RNNCell``/``nn.LSTMCell``/``nn.GRUCell``), and autograd records
every step. The benchmark feeds full-length rows, so this loop needs no padding logic; a
real notebook's masking would only make it slower. ``check_same_outputs`` proves the two
compute the same thing before anything is timed.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

_CELLS = {"rnn": nn.RNNCell, "lstm": nn.LSTMCell, "gru": nn.GRUCell}


class NaiveLoop(nn.Module):
    """Encoder and head shared with ``model``; the recurrence re-done one step at a time."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        recurrence = model.body.recurrence
        rnn = recurrence.rnn
        self.kind = recurrence.kind
        self.encoder = model.encoder
        self.head = model.head
        self.directions = 2 if rnn.bidirectional else 1
        self.cells = nn.ModuleList()
        for layer in range(rnn.num_layers):
            for direction in range(self.directions):
                size = rnn.input_size if layer == 0 else rnn.hidden_size * self.directions
                cell = _CELLS[self.kind](size, rnn.hidden_size)
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                with torch.no_grad():
                    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                        getattr(cell, name).copy_(getattr(rnn, name + suffix))
                self.cells.append(cell)

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        seq = list(self.encoder(x).unbind(1))  # full-length rows: every step is real
        finals: list[Tensor] = []
        for start in range(0, len(self.cells), self.directions):
            outputs, finals = [], []
            for direction in range(self.directions):
                cell = self.cells[start + direction]
                steps = seq if direction == 0 else seq[::-1]
                state = None
                hs = []
                for x_t in steps:
                    state = cell(x_t, state)
                    hs.append(state[0] if self.kind == "lstm" else state)
                finals.append(hs[-1])
                outputs.append(hs if direction == 0 else hs[::-1])
            seq = [torch.cat(step, -1) for step in zip(*outputs, strict=True)]
        return self.head(torch.cat(finals, -1))


def check_same_outputs(model: nn.Module, naive: NaiveLoop, x: Tensor, lengths: Tensor) -> None:
    """Raise if the naive loop and the model disagree on this batch.

    float32 tolerance: rounding differences (torch's and the compiled kernels'
    exp/tanh are each within 3 ulp) build up over seed C's 25 layers x 200 steps to
    ~1e-4 on a logit; a different model would be off by orders of magnitude more.
    """
    with torch.no_grad():
        torch.testing.assert_close(naive(x, lengths), model(x, lengths), atol=1e-3, rtol=1e-3)
