"""Whole-sequence compiled time loops for RNN, LSTM and GRU layers (native/kernels.cpp).

Why this exists: at seed-A shapes (hidden 32, batch 128, 120 steps) a recurrent layer is a
chain of a few thousand tiny operations, and the time goes to per-operation overhead
(Python, dispatch, autograd's graph), not to arithmetic. PyTorch's own CPU kernels for
``nn.RNN``/``nn.GRU`` run one autograd node per step and gate; Keras compiles its loop.

Each kernel runs one layer's whole time loop inside one ``autograd.Function``, for D
independent recurrences: one small matrix product and one fused elementwise pass per
step, directions and column groups on torch's threads, with a hand-written backward
pass. The recurrent weight's gradient is one batched product over the saved states.
They serve the compiled path only (models/plan.py), which the plan gives a recurrence
only on CPUs where the kernels built; native.run refuses anything else. Python versions
of these loops (the fallback without a compiler until issue 17) measured 1.4-1.9x
faster than the reference path at seed A, and were removed: see recurrent.py's
reference_stack for what runs there instead.

Conventions: tensors are time-major and batch-last, ``[T, D, features, B]``: then every
gate block of a step is one contiguous slab, and the per-step elementwise operations run
on contiguous memory (in the usual [B, 4H] layout a gate is a strided slice, 3-5x
slower at these sizes). The products are W h in that layout: ``pre = W_hh @ h``, with
``weight_hh`` ``[D, G*H, H]`` in torch's layout. ``x_proj`` is the input half of the
gate pre-activations (``W_ih x + b_ih``, plus ``b_hh`` where it simply adds), computed
outside by ordinary autograd. The initial state is zero. The kernels run every row for
all T steps: the callers read each row's result at its own last real step, and positions
after it cannot influence earlier ones, so they get exactly zero gradient (see
recurrent.py). The tests compare every kernel with torch's modules and with the
reference loop in float64, outputs and gradients.

Mixed precision (autocast): every kernel computes in one dtype, float32 when an input is
half precision (the input projections come out of autocast's products in bf16/fp16, the
parameters are float32), and with autocast off inside (see :func:`full_precision`). The
recurrence is a chain of T dependent steps, and its state and cell carried in bf16 would
lose most of their mantissa over 120 steps. The gradients come back in each input's dtype.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor
from torch.autograd import Function

from rnnbench.models import native

HALF = (torch.float16, torch.bfloat16)


def compute_dtype(*tensors: Tensor | None) -> torch.dtype:
    """The dtype a kernel computes in: the floating inputs' common dtype, float32 where
    that is half precision (autocast)."""
    dtypes = [t.dtype for t in tensors if isinstance(t, Tensor) and t.is_floating_point()]
    dtype = functools.reduce(torch.promote_types, dtypes)
    return torch.float32 if dtype in HALF else dtype


def full_precision(method: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap an autograd Function's ``forward``/``backward``: floating tensor arguments cast
    to :func:`compute_dtype` (a no-op when they already agree, as they do outside
    autocast), and autocast off while it runs, so that the loops' in-place and ``out=``
    products (which autocast leaves alone) and the plain ones see the same dtype."""

    @functools.wraps(method)
    def wrapper(ctx: Any, *args: Any) -> Any:
        tensors = [a for a in args if isinstance(a, Tensor)]
        dtype = compute_dtype(*tensors)
        args = tuple(
            a.to(dtype) if isinstance(a, Tensor) and a.is_floating_point() else a for a in args
        )
        with torch.autocast(tensors[0].device.type, enabled=False):
            return method(ctx, *args)

    return wrapper


def _previous(x: Tensor) -> Tensor:
    """The state before each step: out[t] = x[t - 1], out[0] = 0 (the initial state)."""
    return torch.cat([x.new_zeros(1, *x.shape[1:]), x[:-1]])


# Columns per piece of the scan kernels. Their columns share nothing (no partial sums),
# so any split gives the same bits; 64 (not native's 256) spreads a batch of 128, one
# direction, over two threads, with no synchronisation until the layer ends.
SCAN_COLUMNS = 64


def _run_scan(name: str, dims: tuple[int, int, int, int], *args: Tensor | bool | None) -> None:
    native.run(name, dims, *args, group=SCAN_COLUMNS)


def _dims(x: Tensor, hidden: int) -> tuple[int, int, int, int]:
    """(steps, dirs, hidden, batch) of a [T, D, features, B] tensor, for native.run."""
    steps, dirs, _, batch = x.shape
    return steps, dirs, hidden, batch


def _weight_grad(d_pre: Tensor, out: Tensor) -> Tensor:
    """dW_hh = sum over steps and rows of d_pre[t] out[t-1]^T: [T, D, G, B], [T, D, H, B] -> [D, G, H].

    One batched product per (step, direction) on the tensors as they lie (no copies),
    then a sum over steps; step 0 has the zero initial state and adds nothing.
    """
    steps, dirs, gates, batch = d_pre.shape
    if steps < 2:
        return d_pre.new_zeros(dirs, gates, out.shape[2])
    per_step = torch.bmm(
        d_pre[1:].reshape(-1, gates, batch),
        out[:-1].reshape(-1, out.shape[2], batch).transpose(1, 2),
    )
    return per_step.view(steps - 1, dirs, gates, -1).sum(0)


class ElmanScan(Function):
    """h[t] = tanh(x_proj[t] + W_hh h[t-1]); x_proj carries both biases."""

    @staticmethod
    @full_precision
    def forward(ctx, x_proj: Tensor, weight_hh: Tensor) -> Tensor:
        hidden = x_proj.shape[2]
        out = torch.empty_like(x_proj)
        weight_hh = weight_hh.contiguous()
        _run_scan("elman_forward", _dims(x_proj, hidden), x_proj, weight_hh, out)
        ctx.save_for_backward(out, weight_hh)
        return out

    @staticmethod
    @full_precision
    def backward(ctx, grad_out: Tensor) -> tuple[Tensor, Tensor]:
        out, weight_hh = ctx.saved_tensors
        d_pre = torch.empty_like(out)
        args = (out, weight_hh, grad_out.contiguous(), d_pre)
        _run_scan("elman_backward", _dims(out, out.shape[2]), *args)
        return d_pre, _weight_grad(d_pre, out)


class LSTMScan(Function):
    """LSTM and its variants, gate blocks in the kernel's order: o first, then the blocks
    the cell gradient feeds (i, f, g; for CIFG f, g), sigmoids before the tanh.

    The caller permutes torch's i, f, g, o blocks into this order: then one in-place
    sigmoid covers the sigmoid gates, and in the backward the blocks fed by the cell
    gradient are contiguous. x_proj carries both biases.

    ``peepholes`` [D, 3, H] (i, f, o; Gers & Schmidhuber: i and f see c[t-1], o sees
    c[t]) or None. ``coupled``: CIFG, c = f c[t-1] + (1 - f) g, no input gate.
    """

    @staticmethod
    @full_precision
    def forward(
        ctx, x_proj: Tensor, weight_hh: Tensor, peepholes: Tensor | None, coupled: bool
    ) -> Tensor:
        if coupled and peepholes is not None:
            raise ValueError("the kernel has no coupled-gate LSTM with peepholes")
        steps, dirs, width, batch = x_proj.shape
        blocks = 3 if coupled else 4
        hidden = width // blocks
        gates = torch.empty_like(x_proj)  # activations o, (i,) f, g
        cell = x_proj.new_empty(steps, dirs, hidden, batch)
        tanh_cell = torch.empty_like(cell)
        out = torch.empty_like(cell)
        weight_hh = weight_hh.contiguous()
        peepholes = None if peepholes is None else peepholes.contiguous()
        args = (coupled, x_proj, weight_hh, peepholes, gates, cell, tanh_cell, out)
        _run_scan("lstm_forward", _dims(x_proj, hidden), *args)
        ctx.save_for_backward(gates, cell, tanh_cell, out, weight_hh, peepholes)
        ctx.coupled = coupled
        return out

    @staticmethod
    @full_precision
    def backward(ctx, grad_out: Tensor) -> tuple[Tensor | None, ...]:
        gates, cell, tanh_cell, out, weight_hh, peepholes = ctx.saved_tensors
        hidden = cell.shape[2]
        d_pre = torch.empty_like(gates)
        args = (ctx.coupled, gates, cell, tanh_cell, weight_hh, peepholes)
        _run_scan("lstm_backward", _dims(gates, hidden), *args, grad_out.contiguous(), d_pre)
        d_peepholes = None
        if peepholes is not None:
            c_prev = _previous(cell)
            d_o, d_i, d_f = d_pre[:, :, : 3 * hidden].split(hidden, dim=2)
            sums = [
                (d_i * c_prev).sum((0, 3)),
                (d_f * c_prev).sum((0, 3)),
                (d_o * cell).sum((0, 3)),
            ]
            d_peepholes = torch.stack(sums, 1)
        return d_pre, _weight_grad(d_pre, out), d_peepholes, None


class GRUScan(Function):
    """GRU in torch's form (blocks r, z, n): n = tanh(x_n + r * (W_hn h + b_hn)).

    x_proj carries b_ih and the r, z blocks of b_hh; ``bias_hn`` [D, H] is the n block of
    b_hh, which sits inside the reset gate's product and so cannot be folded in.
    """

    @staticmethod
    @full_precision
    def forward(ctx, x_proj: Tensor, weight_hh: Tensor, bias_hn: Tensor) -> Tensor:
        steps, dirs, width, batch = x_proj.shape
        hidden = width // 3
        mixed = torch.empty_like(x_proj)  # per step: r, z (activated), W_hn h + b_hn
        new = x_proj.new_empty(steps, dirs, hidden, batch)  # the candidate n
        out = torch.empty_like(new)
        weight_hh, bias_hn = weight_hh.contiguous(), bias_hn.contiguous()
        args = (x_proj, weight_hh, bias_hn, mixed, new, out)
        _run_scan("gru_forward", _dims(x_proj, hidden), *args)
        ctx.save_for_backward(mixed, new, out, weight_hh)
        return out

    @staticmethod
    @full_precision
    def backward(ctx, grad_out: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        mixed, new, out, weight_hh = ctx.saved_tensors
        hidden = new.shape[2]
        d_mixed, d_x = torch.empty_like(mixed), torch.empty_like(mixed)
        args = (mixed, new, out, weight_hh, grad_out.contiguous(), d_mixed, d_x)
        _run_scan("gru_backward", _dims(mixed, hidden), *args)
        d_bias_hn = d_mixed[:, :, 2 * hidden :].sum(dim=(0, 3))
        return d_x, _weight_grad(d_mixed, out), d_bias_hn


# Rows per piece of the minGRU/minLSTM scan: its rows share nothing, so any split gives
# the same bits, and at batch 128 this spreads one direction over the threads.
_MIN_ROWS = 32


class MinScan(Function):
    """minGRU or minLSTM (``lstm``) over their Linear's output pre [B, T, G*H] (blocks
    candidate, gate; or candidate, forget, input): h [B, T, H] from h[-1] = 0.

    Gates, h[t] = a[t] h[t-1] + b[t] and every gradient in one compiled pass each way,
    step by step (minrnn.py has the maths; its loop is the reference this is tested
    against).
    """

    @staticmethod
    def _run(name: str, h: Tensor, *args: Tensor | bool) -> None:
        """Kernel ``name`` over rows h [B, T, H]: dims (T, 1, H, B), pieces of rows."""
        batch, steps, hidden = h.shape
        native.run(name, (steps, 1, hidden, batch), *args, group=_MIN_ROWS)

    @staticmethod
    @full_precision
    def forward(ctx, pre: Tensor, lstm: bool) -> Tensor:
        pre = pre.contiguous()
        batch, steps, width = pre.shape
        h = pre.new_empty(batch, steps, width // (3 if lstm else 2))
        MinScan._run("min_scan_forward", h, lstm, pre, h)
        ctx.save_for_backward(pre, h)
        ctx.lstm = lstm
        return h

    @staticmethod
    @full_precision
    def backward(ctx, grad_out: Tensor) -> tuple[Tensor, None]:
        pre, h = ctx.saved_tensors
        d_pre = torch.empty_like(pre)
        MinScan._run("min_scan_backward", h, ctx.lstm, pre, h, grad_out.contiguous(), d_pre)
        return d_pre, None
