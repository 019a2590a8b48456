"""Whole-sequence time loops for RNN, LSTM and GRU layers, with hand-written backward passes.

Why this exists: at seed-A shapes (hidden 32, batch 128, 120 steps) a recurrent layer is a
chain of a few thousand tiny operations, and the time goes to per-operation overhead
(Python, dispatch, autograd's graph), not to arithmetic. PyTorch's own CPU kernels for
``nn.RNN``/``nn.GRU`` run one autograd node per step and gate; Keras compiles its loop.

Each kernel runs one layer's whole time loop inside one ``autograd.Function``, for D
independent recurrences. The loop itself runs in one of two forms with the same maths:

- compiled (native/kernels.cpp, when ``native.usable``): one small matrix product and
  one fused elementwise pass per step, directions on separate threads; 2-4x faster;
- Python (the fallback where no C++ compiler is found): the loops below. The forward
  keeps what the backward needs; the backward computes every per-step factor that does
  not depend on the incoming gradient for all steps in one vectorised operation before
  the loop, leaving 2-5 small in-place operations per step. recurrent.py calls these
  once per direction (D = 2 measured slower: a step's gate slices are then not
  contiguous).

The recurrent weight's gradient is one batched product over the saved states in both.

Conventions: tensors are time-major and batch-last, ``[T, D, features, B]``: then every
gate block of a step is one contiguous slab, and the per-step elementwise operations run
on contiguous memory (in the usual [B, 4H] layout a gate is a strided slice, 3-5x
slower at these sizes). The products are W h in that layout: ``pre = W_hh @ h``, with
``weight_hh`` ``[D, G*H, H]`` in torch's layout. ``x_proj`` is the input half of the
gate pre-activations (``W_ih x + b_ih``, plus ``b_hh`` where it simply adds), computed
outside by ordinary autograd. The initial state is zero. The kernels run every row for
all T steps: the callers read each row's result at its own last real step, and positions
after it cannot influence earlier ones, so they get exactly zero gradient (see
recurrent.py). The tests compare every kernel with torch's modules in float64, outputs
and gradients, and the compiled loops with the Python ones.

Mixed precision (autocast): every kernel computes in one dtype, float32 when an input is
half precision (the input projections come out of autocast's products in bf16/fp16, the
parameters are float32), and with autocast off inside (see :func:`full_precision`). The
recurrence is a chain of T dependent steps, and its state and cell carried in bf16 would
lose most of their mantissa over 120 steps; on a GPU these loops are launch-bound, so the
wider dtype costs nothing measurable. The gradients come back in each input's dtype.
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
        _, dirs, hidden, batch = x_proj.shape
        out = torch.empty_like(x_proj)
        if native.usable(x_proj):
            weight_hh = weight_hh.contiguous()
            native.run("elman_forward", _dims(x_proj, hidden), x_proj, weight_hh, out)
        else:
            h = x_proj.new_zeros(dirs, hidden, batch)
            for x_t, out_t in zip(x_proj.unbind(0), out.unbind(0), strict=True):
                h = torch.baddbmm(x_t, weight_hh, h, out=out_t).tanh_()
        ctx.save_for_backward(out, weight_hh)
        return out

    @staticmethod
    @full_precision
    def backward(ctx, grad_out: Tensor) -> tuple[Tensor, Tensor]:
        out, weight_hh = ctx.saved_tensors
        if native.usable(out):
            d_pre = torch.empty_like(out)
            args = (out, weight_hh, grad_out.contiguous(), d_pre)
            native.run("elman_backward", _dims(out, out.shape[2]), *args)
        else:
            w_t = weight_hh.transpose(1, 2)
            grad_h = grad_out.clone(memory_format=torch.contiguous_format).unbind(0)  # + carry
            d_pre = 1 - out * out  # tanh' for every step; multiplied by dh in the loop
            d_steps = d_pre.unbind(0)
            for t in range(out.shape[0] - 1, -1, -1):
                d_steps[t].mul_(grad_h[t])
                if t:
                    grad_h[t - 1].baddbmm_(w_t, d_steps[t])
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
        if native.usable(x_proj):
            weight_hh = weight_hh.contiguous()
            peepholes = None if peepholes is None else peepholes.contiguous()
            args = (coupled, x_proj, weight_hh, peepholes, gates, cell, tanh_cell, out)
            native.run("lstm_forward", _dims(x_proj, hidden), *args)
        else:
            h = x_proj.new_zeros(dirs, hidden, batch)
            c = torch.zeros_like(h)
            sigmoids = (blocks - 1) * hidden
            for t in range(steps):
                a = torch.baddbmm(x_proj[t], weight_hh, h, out=gates[t])
                if peepholes is None:
                    a[:, :sigmoids].sigmoid_()
                else:  # i and f look at c[t-1] before their sigmoid; o waits for c[t]
                    a_if = a[:, hidden:sigmoids].unflatten(1, (2, hidden))
                    a_if.addcmul_(peepholes[:, :2, :, None], c.unsqueeze(1)).sigmoid_()
                a[:, sigmoids:].tanh_()
                if coupled:
                    o, f, g = a.split(hidden, dim=1)
                    c = torch.lerp(g, c, f, out=cell[t])  # f c + (1 - f) g
                else:
                    o, i, f, g = a.split(hidden, dim=1)
                    c = torch.mul(f, c, out=cell[t]).addcmul_(i, g)
                if peepholes is not None:
                    o.addcmul_(peepholes[:, 2, :, None], c).sigmoid_()
                h = torch.mul(o, torch.tanh(c, out=tanh_cell[t]), out=out[t])
        ctx.save_for_backward(gates, cell, tanh_cell, out, weight_hh, peepholes)
        ctx.coupled = coupled
        return out

    @staticmethod
    @full_precision
    def backward(ctx, grad_out: Tensor) -> tuple[Tensor | None, ...]:
        gates, cell, tanh_cell, out, weight_hh, peepholes = ctx.saved_tensors
        hidden = cell.shape[2]
        if native.usable(gates):
            d_pre = torch.empty_like(gates)
            args = (ctx.coupled, gates, cell, tanh_cell, weight_hh, peepholes)
            native.run("lstm_backward", _dims(gates, hidden), *args, grad_out.contiguous(), d_pre)
        else:
            d_pre = LSTMScan._backward_loop(ctx.coupled, grad_out, *ctx.saved_tensors)
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

    @staticmethod
    def _backward_loop(
        coupled: bool,
        grad_out: Tensor,
        gates: Tensor,
        cell: Tensor,
        tanh_cell: Tensor,
        out: Tensor,
        weight_hh: Tensor,
        peepholes: Tensor | None,
    ) -> Tensor:
        """The gradient of the gate pre-activations, [T, D, G*H, B], by Python loop."""
        hidden = cell.shape[2]
        w_t = weight_hh.transpose(1, 2)
        c_prev = _previous(cell)
        if coupled:
            o, f, g = gates.split(hidden, dim=2)
            # c = g + f (c_prev - g): d a_f = dc (c_prev - g) f', d a_g = dc (1 - f) g'
            p_c = [(c_prev - g) * f * (1 - f), (1 - f) * (1 - g * g)]
        else:
            o, i, f, g = gates.split(hidden, dim=2)
            p_c = [g * i * (1 - i), c_prev * f * (1 - f), i * (1 - g * g)]
        # Per step: dc = dc_carry + dh q;  d a_o = dh p_o;  d a_{(i,)f,g} = dc p_c;
        # dc_carry for t - 1 = dc * keep, where keep is what of c[t-1] reached c[t].
        p_o = tanh_cell * o * (1 - o)
        q = o * (1 - tanh_cell * tanh_cell)
        keep = f
        if peepholes is not None:
            p_i, p_f, p_o_peep = (v[None, :, :, None] for v in peepholes.unbind(1))
            q = q + p_o * p_o_peep  # o also sees c[t]
            keep = f + p_c[0] * p_i + p_c[1] * p_f  # and i, f see c[t-1]
        blocks = len(p_c)
        p_c = torch.stack(p_c, 2).unbind(0)  # [D, blocks, H, B] per step
        q, p_o_steps, keep = q.unbind(0), p_o.unbind(0), keep.unbind(0)
        d_pre = torch.empty_like(gates)
        d_steps = d_pre.unbind(0)
        grad_h = grad_out.clone(memory_format=torch.contiguous_format).unbind(0)
        dc = torch.zeros_like(grad_h[0])
        for t in range(cell.shape[0] - 1, -1, -1):
            dh, d_t = grad_h[t], d_steps[t]
            dc.addcmul_(dh, q[t])
            torch.mul(dh, p_o_steps[t], out=d_t[:, :hidden])
            torch.mul(dc.unsqueeze(1), p_c[t], out=d_t[:, hidden:].unflatten(1, (blocks, hidden)))
            if t:
                dc.mul_(keep[t])
                grad_h[t - 1].baddbmm_(w_t, d_t)
        return d_pre


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
        if native.usable(x_proj):
            weight_hh, bias_hn = weight_hh.contiguous(), bias_hn.contiguous()
            args = (x_proj, weight_hh, bias_hn, mixed, new, out)
            native.run("gru_forward", _dims(x_proj, hidden), *args)
        else:
            # One product per step gives [W_hr h, W_hz h, W_hn h + b_hn]; the r, z input
            # halves are then added in place (a step's slab is in cache; a whole-sequence
            # concatenation would not be).
            hn_bias = torch.cat([bias_hn.new_zeros(dirs, 2 * hidden), bias_hn], 1)[..., None]
            h = x_proj.new_zeros(dirs, hidden, batch)
            for t in range(steps):
                x_t = x_proj[t]
                m = torch.baddbmm(hn_bias, weight_hh, h, out=mixed[t])
                rz = m[:, : 2 * hidden]
                rz.add_(x_t[:, : 2 * hidden]).sigmoid_()
                r, z, h_n = m.split(hidden, dim=1)
                n = torch.addcmul(x_t[:, 2 * hidden :], r, h_n, out=new[t]).tanh_()
                h = torch.lerp(n, h, z, out=out[t])  # n + z * (h - n) = (1 - z) n + z h
        ctx.save_for_backward(mixed, new, out, weight_hh)
        return out

    @staticmethod
    @full_precision
    def backward(ctx, grad_out: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        mixed, new, out, weight_hh = ctx.saved_tensors
        hidden = new.shape[2]
        if native.usable(mixed):
            d_mixed, d_x = torch.empty_like(mixed), torch.empty_like(mixed)
            args = (mixed, new, out, weight_hh, grad_out.contiguous(), d_mixed, d_x)
            native.run("gru_backward", _dims(mixed, hidden), *args)
        else:
            d_mixed, d_x = GRUScan._backward_loop(grad_out, *ctx.saved_tensors)
        d_bias_hn = d_mixed[:, :, 2 * hidden :].sum(dim=(0, 3))
        return d_x, _weight_grad(d_mixed, out), d_bias_hn

    @staticmethod
    def _backward_loop(
        grad_out: Tensor, mixed: Tensor, new: Tensor, out: Tensor, weight_hh: Tensor
    ) -> tuple[Tensor, Tensor]:
        """The gradients of [a_r, a_z, W_hn h + b_hn] and of x_proj, by Python loop."""
        hidden = new.shape[2]
        h_prev = _previous(out)
        w_t = weight_hh.transpose(1, 2)
        r, z, h_n = mixed.split(hidden, dim=2)
        k_n = (1 - z) * (1 - new * new)  # d a_n / dh
        # Per step, the gradient of [a_r, a_z, W_hn h + b_hn] is dh times these factors.
        k_mixed = torch.stack([k_n * h_n * r * (1 - r), (h_prev - new) * z * (1 - z), k_n * r], 2)
        k_steps = k_mixed.unbind(0)  # [D, 3, H, B] per step
        z_steps = z.unbind(0)
        d_mixed = torch.empty_like(k_mixed)
        d_steps = d_mixed.unbind(0)
        grad_h = grad_out.clone(memory_format=torch.contiguous_format)
        h_steps = grad_h.unbind(0)
        for t in range(out.shape[0] - 1, -1, -1):
            dh = h_steps[t]
            torch.mul(dh.unsqueeze(1), k_steps[t], out=d_steps[t])
            if t:
                h_steps[t - 1].addcmul_(dh, z_steps[t]).baddbmm_(w_t, d_steps[t].flatten(1, 2))
        d_mixed = d_mixed.flatten(2, 3)
        # grad_h now holds every step's full dh, so the input half is one product.
        return d_mixed, torch.cat([d_mixed[:, :, : 2 * hidden], grad_h * k_n], 2)
