"""The fast recurrence kernels equal torch's modules: outputs and every gradient, float64."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import Tensor, nn

from rnnbench.models import build_model, native
from rnnbench.models.recurrent import reverse_rows
from rnnbench.models.scan import ElmanScan, GRUScan, LSTMScan
from test_models import SMALL, encoded_input, make_meta, run_body_and_head

FUSED = ["rnn", "lstm", "gru", "birnn", "bilstm", "bigru"]
LENGTHS = torch.tensor([7, 2, 5, 1, 7, 3])
EXACT = {"atol": 1e-10, "rtol": 1e-10}


def scan_and_torch(arch: str, meta, hparams: dict) -> tuple[nn.Module, nn.Module]:
    """The same model twice (same weights): computed by the kernels, and by torch."""
    scan = build_model(arch, meta, SMALL | hparams).double()
    reference = copy.deepcopy(scan)
    scan.body.recurrence.impl = "scan"
    reference.body.recurrence.impl = "torch"
    return scan, reference


def assert_same_outputs_and_gradients(
    scan: nn.Module, reference: nn.Module, meta, lengths: Tensor, dim: int = 3
) -> None:
    h_scan, h_ref = encoded_input(meta, lengths, dim=dim)
    out_scan, loss_scan = run_body_and_head(scan, h_scan, lengths)
    out_ref, loss_ref = run_body_and_head(reference, h_ref, lengths)
    loss_scan.backward()
    loss_ref.backward()
    torch.testing.assert_close(out_scan, out_ref, **EXACT)
    torch.testing.assert_close(h_scan.grad, h_ref.grad, **EXACT)
    for name, param in reference.body.named_parameters():
        grad = scan.body.get_parameter(name).grad
        assert grad is not None and param.grad is not None, name
        torch.testing.assert_close(grad, param.grad, **EXACT, msg=name)
    for name, param in reference.head.named_parameters():
        torch.testing.assert_close(scan.head.get_parameter(name).grad, param.grad, **EXACT)


@pytest.mark.parametrize("arch", FUSED)
@pytest.mark.parametrize("layers", [1, 3])
@pytest.mark.parametrize("padding", ["post", "pre"])
@pytest.mark.parametrize("task", ["sentiment", "ner"])
def test_scan_equals_torch_module(arch: str, layers: int, padding: str, task: str) -> None:
    meta = make_meta(task=task, length=7, padding=padding, num_classes=3 if task == "ner" else 2)
    scan, reference = scan_and_torch(arch, meta, {"layers": layers})
    assert_same_outputs_and_gradients(scan, reference, meta, LENGTHS)


@pytest.mark.parametrize("arch", ["bilstm", "gru"])
def test_scan_equals_torch_when_no_row_is_full_length(arch: str) -> None:
    # max(lengths) < L: the kernels stop early and pad the per-token output back to L.
    meta = make_meta(task="ner", length=9, num_classes=4)
    scan, reference = scan_and_torch(arch, meta, {"layers": 2})
    assert_same_outputs_and_gradients(scan, reference, meta, torch.tensor([4, 6, 1]))


@pytest.mark.parametrize("arch", ["birnn", "lstm"])
def test_scan_equals_torch_in_eval_mode_with_dropout(arch: str) -> None:
    meta = make_meta(length=7)
    scan, reference = scan_and_torch(arch, meta, {"layers": 2, "dropout": 0.4})
    scan.eval()
    reference.eval()
    assert_same_outputs_and_gradients(scan, reference, meta, LENGTHS)


def test_scan_dropout_acts_between_layers_in_training() -> None:
    meta = make_meta(length=7)
    model = build_model("lstm", meta, SMALL | {"layers": 2, "dropout": 0.5}).double()
    h, _ = encoded_input(meta, LENGTHS)
    torch.manual_seed(0)
    first = model.body(h, LENGTHS)
    torch.manual_seed(1)
    assert not torch.allclose(first, model.body(h, LENGTHS))
    model.eval()
    torch.testing.assert_close(model.body(h, LENGTHS), model.body(h, LENGTHS))


def test_scan_float32_is_close_to_torch() -> None:
    meta = make_meta(length=7)
    scan = build_model("bigru", meta, SMALL)
    scan.body.recurrence.impl = "scan"
    reference = copy.deepcopy(scan)
    reference.body.recurrence.impl = "torch"
    h = torch.randn(len(LENGTHS), 7, SMALL["embedding_dim"])
    torch.testing.assert_close(scan.body(h, LENGTHS), reference.body(h, LENGTHS))


def test_reverse_rows_reverses_only_the_real_steps_and_is_its_own_inverse() -> None:
    x = torch.arange(12.0).view(4, 3)  # time-major [T=4, B=3]
    lengths = torch.tensor([4, 2, 1])
    reversed_ = reverse_rows(x, lengths)
    assert reversed_[:, 0].tolist() == [9.0, 6.0, 3.0, 0.0]
    assert reversed_[:, 1].tolist() == [4.0, 1.0, 7.0, 10.0]  # steps 2, 3 are padding
    assert reversed_[:, 2].tolist() == x[:, 2].tolist()
    torch.testing.assert_close(reverse_rows(reversed_, lengths), x)


@pytest.mark.parametrize("bad", [0, 8])
def test_scan_rejects_a_length_outside_the_row(bad: int) -> None:
    meta = make_meta(length=7)
    model = build_model("lstm", meta, SMALL)
    h = torch.randn(2, 7, SMALL["embedding_dim"])
    with pytest.raises(ValueError, match=r"length in \[1, 7\]"):
        model.body(h, torch.tensor([3, bad]))


def test_unknown_impl_is_named() -> None:
    from rnnbench.models.bodies import FusedRecurrence

    with pytest.raises(ValueError, match="unknown recurrence impl 'fast'; allowed: auto, scan"):
        FusedRecurrence("lstm", 3, 4, 1, False, 0.0, impl="fast")


@pytest.mark.parametrize("arch", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("task", ["sentiment", "ner"])
@pytest.mark.parametrize("compiled", [True, False])
def test_deep_stack_equals_torch(
    arch: str, task: str, compiled: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 9 layers over at most 7 steps: the wavefront's warm-up and drain overlap, and rows
    # end at different steps. Without the compiled loops deep stacks take the wavefront.
    if not compiled:
        monkeypatch.setattr(native, "usable", lambda x: False)
    meta = make_meta(task=task, length=7, num_classes=3 if task == "ner" else 2)
    scan, reference = scan_and_torch(arch, meta, {"layers": 9})
    assert_same_outputs_and_gradients(scan, reference, meta, LENGTHS)


def test_wavefront_runs_deep_unidirectional_stacks_on_python_loops(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import rnnbench.models.recurrent as recurrent

    monkeypatch.setattr(native, "usable", lambda x: False)
    calls = []
    monkeypatch.setattr(recurrent, "wavefront_stack", lambda *a: calls.append(a) or 1 / 0)
    meta = make_meta(length=7)
    with pytest.raises(ZeroDivisionError):
        build_model("gru", meta, SMALL | {"layers": 2}).body(torch.randn(6, 7, 3), LENGTHS)
    assert len(calls) == 1
    build_model("bigru", meta, SMALL | {"layers": 2}).body(torch.randn(6, 7, 3), LENGTHS)
    assert len(calls) == 1  # bidirectional stacks go layer by layer


@pytest.mark.parametrize(
    ("kind", "layers", "directions", "device", "compiled", "impl"),
    [
        ("rnn", 1, 1, "cpu", True, "scan"),
        ("gru", 1, 2, "cpu", True, "scan"),
        ("lstm", 1, 1, "cpu", True, "torch"),  # torch's oneDNN LSTM is faster on CPU
        ("lstm", 1, 2, "cpu", True, "scan"),  # but not than two compiled directions
        ("lstm", 1, 2, "cpu", False, "torch"),  # or the Python loops
        ("lstm", 25, 1, "cpu", True, "scan"),  # deep stacks: compiled layers
        ("lstm", 25, 1, "cpu", False, "scan"),  # or the wavefront
        ("gru", 1, 1, "cuda", True, "padded"),  # cuDNN over the padded batch
    ],
)
def test_auto_impl_picks_the_measured_faster_path(
    kind: str,
    layers: int,
    directions: int,
    device: str,
    compiled: bool,
    impl: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from rnnbench.models.bodies import fastest_impl

    monkeypatch.setattr(native, "available", lambda: compiled)
    assert fastest_impl(kind, layers, directions, torch.device(device)) == impl


def test_auto_is_the_default_and_matches_both_paths() -> None:
    meta = make_meta(length=7)
    auto = build_model("gru", meta, SMALL).double()
    assert auto.body.recurrence.impl == "auto"
    scan, reference = copy.deepcopy(auto), copy.deepcopy(auto)
    scan.body.recurrence.impl, reference.body.recurrence.impl = "scan", "torch"
    h = torch.randn(len(LENGTHS), 7, SMALL["embedding_dim"], dtype=torch.float64)
    torch.testing.assert_close(auto.body(h, LENGTHS), scan.body(h, LENGTHS), **EXACT)
    torch.testing.assert_close(auto.body(h, LENGTHS), reference.body(h, LENGTHS), **EXACT)


@pytest.mark.parametrize("arch", ["lstm_peephole", "lstm_cifg"])
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("padding", ["post", "pre"])
@pytest.mark.parametrize("task", ["sentiment", "ner"])
def test_lstm_variant_kernel_equals_the_explicit_loop(
    arch: str, layers: int, padding: str, task: str
) -> None:
    meta = make_meta(task=task, length=7, padding=padding, num_classes=3 if task == "ner" else 2)
    scan = build_model(arch, meta, SMALL | {"layers": layers}).double()
    assert scan.body.recurrence.impl == "scan"  # the default for these two cells
    with torch.no_grad():  # non-zero peepholes (Keras-style init starts them at zero)
        for name, param in scan.body.named_parameters():
            if "peephole" in name:
                param.uniform_(-0.5, 0.5)
    loop = copy.deepcopy(scan)
    loop.body.recurrence.impl = "loop"
    assert_same_outputs_and_gradients(scan, loop, meta, LENGTHS)


def test_textbook_cells_stay_explicit_loops() -> None:
    meta = make_meta(length=7)
    for arch in ["rnn_cell", "lstm_cell", "gru_cell"]:
        assert build_model(arch, meta, SMALL).body.recurrence.impl == "loop"


# --- the compiled loops (models/native) --------------------------------------------------

needs_native = pytest.mark.skipif(
    not native.usable(torch.zeros(1)), reason=f"no compiled kernels: {native.describe()}"
)


def _kernel_inputs(kind: str, dirs: int, batch: int, dtype: torch.dtype) -> list:
    """Random [T, D, G, B] input projections and weights for one scan kernel."""
    generator = torch.Generator().manual_seed(3)
    steps, hidden = 6, 5
    width = {"rnn": 1, "lstm": 4, "cifg": 3, "peephole": 4, "gru": 3}[kind] * hidden

    def rand(*shape: int) -> Tensor:
        return torch.randn(*shape, generator=generator, dtype=dtype).requires_grad_()

    inputs = [rand(steps, dirs, width, batch), rand(dirs, width, hidden)]
    if kind == "gru":
        inputs.append(rand(dirs, hidden))
    elif kind != "rnn":
        inputs += [rand(dirs, 3, hidden) if kind == "peephole" else None, kind == "cifg"]
    return inputs


def _apply(kind: str, inputs: list) -> Tensor:
    kernel = {"rnn": ElmanScan, "gru": GRUScan}.get(kind, LSTMScan)
    return kernel.apply(*inputs)


def _outputs_and_grads(kind: str, inputs: list) -> list[Tensor]:
    out = _apply(kind, inputs)
    weights = torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)
    tensors = [t for t in inputs if isinstance(t, Tensor)]
    return [out, *torch.autograd.grad((out * weights).sum(), tensors)]


@needs_native
@pytest.mark.parametrize("kind", ["rnn", "lstm", "cifg", "peephole", "gru"])
@pytest.mark.parametrize(("dirs", "batch"), [(1, 3), (2, 3), (1, 300)])
def test_compiled_loops_equal_the_python_loops(
    kind: str, dirs: int, batch: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # batch 300: two column groups, run as two pieces (on two threads where there are two).
    inputs = _kernel_inputs(kind, dirs, batch, torch.float64)
    compiled = _outputs_and_grads(kind, inputs)
    monkeypatch.setattr(native, "usable", lambda x: False)
    python = _outputs_and_grads(kind, inputs)
    for got, want in zip(compiled, python, strict=True):
        torch.testing.assert_close(got, want, **EXACT)


@needs_native
@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_compiled_float32_is_close_to_the_python_loops(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # float32 uses the kernels' own exp/tanh approximations (within 3 ulp).
    inputs = _kernel_inputs(kind, 2, 40, torch.float32)
    compiled = _outputs_and_grads(kind, inputs)
    monkeypatch.setattr(native, "usable", lambda x: False)
    for got, want in zip(compiled, _outputs_and_grads(kind, inputs), strict=True):
        torch.testing.assert_close(got, want, atol=2e-5, rtol=2e-5)


@needs_native
@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_compiled_loops_give_the_same_bits_on_any_thread_count(kind: str) -> None:
    inputs = _kernel_inputs(kind, 1, 600, torch.float32)  # three column groups
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = _apply(kind, inputs)
        torch.set_num_threads(3)
        three = _apply(kind, inputs)
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(one, three)


@needs_native
def test_compiled_loops_keep_nan_and_saturate_like_torch() -> None:
    x, w = _kernel_inputs("gru", 1, 4, torch.float32)[:2]
    x = x.detach().clone()
    x[0, 0, :, 0] = float("nan")  # a diverged row stays NaN
    x[:, 0, :, 1] = 1e30  # saturated gates, not inf or NaN
    out = GRUScan.apply(x, w.detach(), torch.zeros(1, 5))
    assert out[:, 0, :, 0].isnan().all()
    assert out[:, 0, :, 1:].isfinite().all()


def test_without_a_compiler_the_python_loops_run_and_say_why(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RNNBENCH_KERNEL_CACHE", str(tmp_path))
    monkeypatch.setenv("CXX", "false")  # a "compiler" that fails on everything
    monkeypatch.setattr(native, "_compiler", lambda: "false")
    native._library.cache_clear()
    try:
        assert "Python loops" in native.describe()
        assert not native.usable(torch.zeros(1))
        scan, reference = scan_and_torch("bigru", make_meta(length=7), {})
        assert_same_outputs_and_gradients(scan, reference, make_meta(length=7), LENGTHS)
    finally:
        native._library.cache_clear()
    assert list(tmp_path.iterdir()) == []  # nothing half-built left behind


def test_native_can_be_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RNNBENCH_NATIVE", "0")
    native._library.cache_clear()
    try:
        assert native.describe() == "Python loops (RNNBENCH_NATIVE=0)"
        assert not native.usable(torch.zeros(1))
    finally:
        native._library.cache_clear()


@needs_native
def test_the_kernel_library_is_cached_per_source_and_cpu(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RNNBENCH_KERNEL_CACHE", str(tmp_path))
    native._library.cache_clear()
    try:
        assert str(tmp_path) in native.describe()
        built = list(tmp_path.glob("kernels-*.so"))
        assert len(built) == 1
        native._library.cache_clear()
        native.describe()  # a second load reuses the file
        assert list(tmp_path.glob("kernels-*.so")) == built
    finally:
        native._library.cache_clear()


@needs_native
def test_compiled_loops_use_the_callers_denormal_mode_on_every_thread() -> None:
    # torch.set_flush_denormal sets flush-to-zero on the calling thread only; the pieces
    # running on other threads must use it too, or results depend on the thread count.
    inputs = _kernel_inputs("gru", 1, 600, torch.float32)
    threads = torch.get_num_threads()

    def grad_of_input() -> Tensor:  # the kernel's own output, no torch op after it
        (grad,) = torch.autograd.grad((_apply("gru", inputs) * 1e-37).sum(), inputs[0])
        return grad

    try:
        torch.set_num_threads(3)
        (torch.ones(1 << 22) * 2).sum()  # start the worker threads before the mode is set
        torch.set_flush_denormal(True)
        three = grad_of_input()
        torch.set_num_threads(1)
        one = grad_of_input()
    finally:
        torch.set_flush_denormal(False)
        torch.set_num_threads(threads)
    assert torch.equal(one, three)


def test_projecting_rows_equals_projecting_the_transposed_input() -> None:
    from rnnbench.models.recurrent import project, project_rows

    generator = torch.Generator().manual_seed(5)
    x = torch.randn(6, 7, 9, generator=generator, dtype=torch.float64)  # [B, T, I]
    w_ih = torch.randn(2, 4, 9, generator=generator, dtype=torch.float64)
    bias = torch.randn(2, 4, generator=generator, dtype=torch.float64)
    seq = x.permute(1, 2, 0)  # [T, I, B]
    inputs = torch.stack([seq, reverse_rows(seq, LENGTHS, batch_last=True)], 1)
    torch.testing.assert_close(
        project_rows(x, w_ih, bias, LENGTHS), project(inputs, w_ih, bias), **EXACT
    )


@pytest.mark.parametrize("arch", FUSED)
def test_scan_equals_torch_with_inputs_wider_than_the_gates(arch: str) -> None:
    # embedding 12 > 4 * hidden 2: the first layer projects batch-first rows (project_rows)
    meta = make_meta(length=7)
    scan, reference = scan_and_torch(arch, meta, {"embedding_dim": 12, "hidden": 2, "layers": 2})
    assert_same_outputs_and_gradients(scan, reference, meta, LENGTHS, dim=12)
