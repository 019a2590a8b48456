"""Every path of every recurrence (models/plan.py) gives the same outputs and gradients,
float64: the compiled kernels, torch's modules and the reference loop over the cell."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import Tensor, nn

from rnnbench.models import build_model, native, step_compile
from rnnbench.models.bodies import plan_model
from rnnbench.models.plan import Path
from rnnbench.models.recurrent import reverse_rows
from rnnbench.models.scan import ElmanScan, GRUScan, LSTMScan
from test_models import SMALL, encoded_input, make_meta, run_body_and_head

FUSED = ["rnn", "lstm", "gru", "birnn", "bilstm", "bigru"]
LENGTHS = torch.tensor([7, 2, 5, 1, 7, 3])
EXACT = {"atol": 1e-10, "rtol": 1e-10}


CPU = torch.device("cpu")
needs_native = pytest.mark.skipif(
    not native.available(), reason=f"no compiled kernels: {native.describe()}"
)
# The paths to compare with torch's modules: the reference loop always, the compiled
# kernels where they are built.
FAST_PATHS = [
    pytest.param(Path.COMPILED, marks=needs_native),
    Path.REFERENCE,
]


def on_path(model: nn.Module, path: Path) -> nn.Module:
    """A copy of ``model`` (same weights) planned onto ``path``."""
    other = copy.deepcopy(model)
    plan_model(other, CPU, path)
    return other


def scan_and_torch(
    arch: str, meta, hparams: dict, path: Path = Path.COMPILED
) -> tuple[nn.Module, nn.Module]:
    """The same model twice (same weights): computed on ``path``, and by torch's module."""
    model = build_model(arch, meta, SMALL | hparams).double()
    return on_path(model, path), on_path(model, Path.LIBRARY)


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


@pytest.mark.parametrize("path", FAST_PATHS)
@pytest.mark.parametrize("arch", FUSED)
@pytest.mark.parametrize("layers", [1, 3])
@pytest.mark.parametrize("padding", ["post", "pre"])
@pytest.mark.parametrize("task", ["sentiment", "ner"])
def test_every_path_equals_torch_module(
    arch: str, layers: int, padding: str, task: str, path: Path
) -> None:
    meta = make_meta(task=task, length=7, padding=padding, num_classes=3 if task == "ner" else 2)
    scan, reference = scan_and_torch(arch, meta, {"layers": layers}, path)
    assert_same_outputs_and_gradients(scan, reference, meta, LENGTHS)


@pytest.mark.parametrize("path", FAST_PATHS)
@pytest.mark.parametrize("arch", ["bilstm", "gru"])
def test_paths_equal_torch_when_no_row_is_full_length(arch: str, path: Path) -> None:
    # max(lengths) < L: the kernels stop early and pad the per-token output back to L.
    meta = make_meta(task="ner", length=9, num_classes=4)
    scan, reference = scan_and_torch(arch, meta, {"layers": 2}, path)
    assert_same_outputs_and_gradients(scan, reference, meta, torch.tensor([4, 6, 1]))


@pytest.mark.parametrize("path", FAST_PATHS)
@pytest.mark.parametrize("arch", ["birnn", "lstm"])
def test_paths_equal_torch_in_eval_mode_with_dropout(arch: str, path: Path) -> None:
    meta = make_meta(length=7)
    scan, reference = scan_and_torch(arch, meta, {"layers": 2, "dropout": 0.4}, path)
    scan.eval()
    reference.eval()
    assert_same_outputs_and_gradients(scan, reference, meta, LENGTHS)


@pytest.mark.parametrize("path", FAST_PATHS)
def test_dropout_acts_between_layers_in_training(path: Path) -> None:
    meta = make_meta(length=7)
    model = build_model("lstm", meta, SMALL | {"layers": 2, "dropout": 0.5}).double()
    plan_model(model, CPU, path)
    h, _ = encoded_input(meta, LENGTHS)
    torch.manual_seed(0)
    first = model.body(h, LENGTHS)
    torch.manual_seed(1)
    assert not torch.allclose(first, model.body(h, LENGTHS))
    model.eval()
    torch.testing.assert_close(model.body(h, LENGTHS), model.body(h, LENGTHS))


@pytest.mark.parametrize("path", FAST_PATHS)
def test_float32_is_close_to_torch(path: Path) -> None:
    meta = make_meta(length=7)
    model = build_model("bigru", meta, SMALL)
    scan, reference = on_path(model, path), on_path(model, Path.LIBRARY)
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


def test_a_path_that_does_not_exist_is_refused() -> None:
    from rnnbench.models.bodies import FusedRecurrence

    with pytest.raises(ValueError, match="'fast' is not a valid Path"):
        FusedRecurrence("lstm", 3, 4, 1, False, 0.0).plan_for(CPU, "fast")
    model = build_model("lstm_cifg", make_meta(length=7), SMALL)
    with pytest.raises(ValueError, match="torch has no module for lstm_cifg"):
        plan_model(model, CPU, Path.LIBRARY)
    with pytest.raises(ValueError, match="no compiled kernels on cuda"):
        plan_model(model, torch.device("cuda"), Path.COMPILED)
    with pytest.raises(ValueError, match="rnn_cell has no compiled kernel"):
        plan_model(build_model("rnn_cell", make_meta(length=7), SMALL), CPU, Path.COMPILED)


@pytest.mark.parametrize("path", FAST_PATHS)
@pytest.mark.parametrize("arch", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("task", ["sentiment", "ner"])
def test_deep_stack_equals_torch(arch: str, task: str, path: Path) -> None:
    # 9 layers over at most 7 steps, rows ending at different steps.
    meta = make_meta(task=task, length=7, num_classes=3 if task == "ner" else 2)
    scan, reference = scan_and_torch(arch, meta, {"layers": 9}, path)
    assert_same_outputs_and_gradients(scan, reference, meta, LENGTHS)


@pytest.mark.parametrize(
    ("kind", "layers", "directions", "device", "compiled", "path"),
    [
        ("rnn", 1, 1, "cpu", True, "compiled"),
        ("gru", 1, 2, "cpu", True, "compiled"),
        ("lstm", 1, 1, "cpu", True, "compiled"),  # oneDNN's LSTM: slow on uneven rows
        ("lstm", 1, 2, "cpu", True, "compiled"),
        ("lstm", 25, 1, "cpu", True, "compiled"),  # deep stacks: compiled layers
        ("lstm", 1, 2, "cpu", False, "library"),  # no compiler: oneDNN's LSTM
        ("lstm", 25, 1, "cpu", False, "library"),
        ("gru", 25, 1, "cpu", False, "reference"),  # the loop beats torch's GRU and RNN
        ("rnn", 1, 2, "cpu", False, "reference"),
        ("gru", 1, 1, "cuda", True, "library"),  # cuDNN over the padded batch
        ("lstm_peephole", 1, 1, "cpu", True, "compiled"),  # the LSTM kernel
        ("lstm_cifg", 1, 1, "cpu", False, "reference"),
        ("lstm_cifg", 1, 1, "cuda", True, "reference"),
        ("gru_cell", 2, 1, "cpu", True, "reference"),  # textbook cells: always the loop
    ],
)
def test_the_plan_picks_the_measured_faster_path(
    kind: str,
    layers: int,
    directions: int,
    device: str,
    compiled: bool,
    path: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from rnnbench.models.plan import choose_plan

    monkeypatch.setattr(native, "available", lambda: compiled)
    assert choose_plan(kind, layers, directions, torch.device(device)).path == path


def test_the_plan_is_made_at_build_and_only_dispatched_on_in_forward(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import rnnbench.models.bodies as bodies

    meta = make_meta(length=7)
    models = [build_model(arch, meta, SMALL) for arch in ["gru", "lstm", "bilstm", "lstm_cifg"]]
    models += [build_model("rnn_cell", meta, SMALL | {"layers": 2})]

    def refuse(*args: object) -> None:
        raise AssertionError("the plan was re-decided in a forward pass")

    monkeypatch.setattr(bodies, "choose_plan", refuse)
    monkeypatch.setattr(native, "available", refuse)
    for model in models:
        model(torch.randint(2, 50, (len(LENGTHS), 7)), LENGTHS).sum().backward()


def test_build_model_plans_for_the_device_it_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.backends.cudnn, "is_available", lambda: True)
    meta = make_meta(length=7)
    model = build_model("gru", meta, SMALL, device="cuda")  # planned only: no GPU needed
    assert model.body.recurrence.plan.path is Path.LIBRARY
    assert model.body.recurrence.plan.unpacked
    monkeypatch.setattr(step_compile, "triton_installed", lambda: True)
    cell = build_model("lstm_peephole", meta, SMALL, device=torch.device("cuda"))
    assert cell.body.recurrence.plan.path is Path.STEP_COMPILED  # models/step_compile.py


@needs_native
def test_the_compiled_kernels_refuse_tensors_off_the_cpu() -> None:
    # A model planned for the CPU and moved elsewhere fails loudly, not with wrong results.
    x, w = (torch.empty(6, 1, 5, 3, device="meta"), torch.empty(1, 5, 5, device="meta"))
    with pytest.raises(ValueError, match="run on CPU tensors"):
        native.run("elman_forward", (6, 1, 5, 3), x, w, torch.empty_like(x))


@needs_native
@pytest.mark.parametrize("arch", ["lstm_peephole", "lstm_cifg"])
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("padding", ["post", "pre"])
@pytest.mark.parametrize("task", ["sentiment", "ner"])
def test_lstm_variant_kernel_equals_the_explicit_loop(
    arch: str, layers: int, padding: str, task: str
) -> None:
    meta = make_meta(task=task, length=7, padding=padding, num_classes=3 if task == "ner" else 2)
    model = build_model(arch, meta, SMALL | {"layers": layers}).double()
    with torch.no_grad():  # non-zero peepholes (Keras-style init starts them at zero)
        for name, param in model.body.named_parameters():
            if "peephole" in name:
                param.uniform_(-0.5, 0.5)
    compiled, loop = on_path(model, Path.COMPILED), on_path(model, Path.REFERENCE)
    assert_same_outputs_and_gradients(compiled, loop, meta, LENGTHS)


def test_textbook_cells_stay_explicit_loops() -> None:
    meta = make_meta(length=7)
    for arch in ["rnn_cell", "lstm_cell", "gru_cell"]:
        assert build_model(arch, meta, SMALL).body.recurrence.plan.path is Path.REFERENCE


# --- the compiled loops (models/native) --------------------------------------------------


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


def _reference_loop(kind: str, inputs: list) -> Tensor:
    """The kernels' maths in their layout and gate order, one autograd step at a time."""
    x_proj, w_hh = inputs[:2]
    steps, dirs, _, batch = x_proj.shape
    hidden = w_hh.shape[2]
    h = c = x_proj.new_zeros(dirs, hidden, batch)
    outputs = []
    for t in range(steps):
        pre = x_proj[t] + w_hh @ h  # [D, G, B]
        if kind == "rnn":
            h = torch.tanh(pre)
        elif kind == "gru":  # x_proj holds b_ih and b_hr, b_hz; b_hn is inside r's product
            mixed = w_hh @ h
            r, z = torch.sigmoid(pre[:, : 2 * hidden]).split(hidden, 1)
            n = torch.tanh(
                x_proj[t, :, 2 * hidden :] + r * (mixed[:, 2 * hidden :] + inputs[2][..., None])
            )
            h = (1 - z) * n + z * h
        elif kind == "cifg":
            o, f, g = pre.split(hidden, 1)
            f = torch.sigmoid(f)
            c = f * c + (1 - f) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
        else:
            o, i, f, g = pre.split(hidden, 1)
            if kind == "peephole":
                peep = inputs[2][..., None]  # [D, 3, H, 1]: i, f, o
                i, f = i + peep[:, 0] * c, f + peep[:, 1] * c
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            if kind == "peephole":
                o = o + peep[:, 2] * c
            h = torch.sigmoid(o) * torch.tanh(c)
        outputs.append(h)
    return torch.stack(outputs)


def _outputs_and_grads(kind: str, inputs: list, run=_apply) -> list[Tensor]:
    out = run(kind, inputs)
    weights = torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)
    tensors = [t for t in inputs if isinstance(t, Tensor)]
    return [out, *torch.autograd.grad((out * weights).sum(), tensors)]


@needs_native
@pytest.mark.parametrize("kind", ["rnn", "lstm", "cifg", "peephole", "gru"])
@pytest.mark.parametrize(("dirs", "batch"), [(1, 3), (2, 3), (1, 300)])
def test_compiled_loops_equal_the_reference_loop(kind: str, dirs: int, batch: int) -> None:
    # batch 300: two column groups, run as two pieces (on two threads where there are two).
    inputs = _kernel_inputs(kind, dirs, batch, torch.float64)
    compiled = _outputs_and_grads(kind, inputs)
    reference = _outputs_and_grads(kind, inputs, _reference_loop)
    for got, want in zip(compiled, reference, strict=True):
        torch.testing.assert_close(got, want, **EXACT)


@needs_native
@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_compiled_float32_is_close_to_the_reference_loop(kind: str) -> None:
    # float32 uses the kernels' own exp/tanh approximations (within 3 ulp).
    inputs = _kernel_inputs(kind, 2, 40, torch.float32)
    compiled = _outputs_and_grads(kind, inputs)
    reference = _outputs_and_grads(kind, inputs, _reference_loop)
    for got, want in zip(compiled, reference, strict=True):
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


def test_without_a_compiler_the_plan_avoids_the_kernels_and_says_why(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RNNBENCH_KERNEL_CACHE", str(tmp_path))
    monkeypatch.setenv("CXX", "false")  # a "compiler" that fails on everything
    monkeypatch.setattr(native, "_compiler", lambda: "false")
    native._library.cache_clear()
    try:
        assert "compiling kernels.cpp failed" in native.describe()
        assert not native.available()
        meta = make_meta(length=7)
        model = build_model("bigru", meta, SMALL).double()
        assert model.body.recurrence.plan.path is Path.REFERENCE
        reference = on_path(model, Path.LIBRARY)
        assert_same_outputs_and_gradients(model, reference, meta, LENGTHS)
    finally:
        native._library.cache_clear()
    assert list(tmp_path.iterdir()) == []  # nothing half-built left behind


def test_native_can_be_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RNNBENCH_NATIVE", "0")
    native._library.cache_clear()
    try:
        assert native.describe() == "not built (RNNBENCH_NATIVE=0)"
        assert not native.available()
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


# --- the per-batch choice (plan.uniform_rows_plan) ---------------------------------------

# Rows of one length (the full length 7, and one shorter than the padded width) and ragged.
BATCH_LENGTHS = {
    "full": torch.tensor([7, 7, 7, 7]),
    "uniform-short": torch.tensor([5, 5, 5]),
    "ragged": torch.tensor([7, 2, 5, 1]),
}


@pytest.mark.parametrize("arch", ["lstm", "bilstm", "lstm_peephole", "lstm_cifg"])
@pytest.mark.parametrize("rows", list(BATCH_LENGTHS))
@pytest.mark.parametrize("task", ["sentiment", "ner"])
def test_the_per_batch_path_equals_the_reference_loop(arch: str, rows: str, task: str) -> None:
    """The model as planned (every batch on the path its rows pick) equals the reference
    loop in float64, outputs and gradients, for rows of one length and ragged rows."""
    meta = make_meta(task=task, length=7, num_classes=3 if task == "ner" else 2)
    model = build_model(arch, meta, SMALL | {"layers": 2}).double()
    with torch.no_grad():  # non-zero peepholes (Keras-style init starts them at zero)
        for name, param in model.body.named_parameters():
            if "peephole" in name:
                param.uniform_(-0.5, 0.5)
    loop = on_path(model, Path.REFERENCE)
    assert_same_outputs_and_gradients(model, loop, meta, BATCH_LENGTHS[rows])


def _batch_counts(model: nn.Module) -> dict[str, int]:
    return dict(model.body.recurrence.batches)


@pytest.mark.parametrize("arch", ["lstm", "bilstm"])
def test_an_lstm_takes_onednn_for_rows_of_one_length_and_the_kernels_for_ragged_rows(
    arch: str,
) -> None:
    from rnnbench.models.bodies import batch_shares
    from rnnbench.names import EXEC_COMPILED, EXEC_ONEDNN, UNPACKED

    if not (torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled):
        pytest.skip("torch was built without oneDNN")
    meta = make_meta(length=7)
    model = build_model(arch, meta, SMALL)
    own = model.body.recurrence.plan.label
    uniform = EXEC_ONEDNN + UNPACKED
    for rows in ["full", "full", "uniform-short", "ragged"]:
        lengths = BATCH_LENGTHS[rows]
        model(torch.randint(2, 50, (len(lengths), 7)), lengths).sum().backward()
    assert _batch_counts(model) == {uniform: 3, own: 1}
    if native.available():
        assert own == EXEC_COMPILED
    assert batch_shares(model) == {uniform: 0.75, own: 0.25}
    # Decided once per batch shape: rows and the common length (0: ragged).
    assert model.body.recurrence.batch_plans.keys() == {(4, 7), (3, 5), (4, 0)}
    model.eval()  # evaluation batches are not counted
    model(torch.randint(2, 50, (4, 7)), BATCH_LENGTHS["full"])
    assert sum(_batch_counts(model).values()) == 4


def test_a_wide_batch_keeps_a_bilstm_on_its_own_path() -> None:
    """Rows of one length take oneDNN up to ONEDNN_MAX_ROWS_BIDIRECTIONAL rows for a
    BiLSTM and at any rows for an LSTM; decided per batch shape."""
    from rnnbench.models.plan import ONEDNN_MAX_ROWS_BIDIRECTIONAL
    from rnnbench.names import EXEC_ONEDNN, UNPACKED

    if not (torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled):
        pytest.skip("torch was built without oneDNN")
    narrow, wide = ONEDNN_MAX_ROWS_BIDIRECTIONAL, ONEDNN_MAX_ROWS_BIDIRECTIONAL + 1
    onednn = EXEC_ONEDNN + UNPACKED
    for arch in ("lstm", "bilstm"):
        model = build_model(arch, make_meta(length=7), SMALL)
        recurrence = model.body.recurrence
        for rows in (narrow, wide):
            model(torch.randint(2, 50, (rows, 7)), torch.full((rows,), 7)).sum().backward()
        wide_label = onednn if arch == "lstm" else recurrence.plan.label
        assert recurrence.batch_plans[(narrow, 7)].label == onednn
        assert recurrence.batch_plans[(wide, 7)].label == wide_label
        assert sum(_batch_counts(model).values()) == 2


@pytest.mark.parametrize("path", [*FAST_PATHS, Path.LIBRARY])
def test_a_forced_path_is_kept_for_every_batch(path: Path) -> None:
    from rnnbench.models.bodies import batch_shares

    model = build_model("lstm", make_meta(length=7), SMALL)
    plan_model(model, CPU, path)
    for lengths in BATCH_LENGTHS.values():
        model(torch.randint(2, 50, (len(lengths), 7)), lengths)
    assert set(_batch_counts(model)) == {model.body.recurrence.plan.label}
    assert batch_shares(model) == {}  # no per-batch choice: exec_path says it all


@pytest.mark.parametrize("arch", ["rnn", "gru", "bigru", "lstm_cifg"])
def test_only_lstms_have_a_uniform_rows_path(arch: str) -> None:
    recurrence = build_model(arch, make_meta(length=7), SMALL).body.recurrence
    assert getattr(recurrence, "uniform_plan", None) is None


def test_a_wide_lstm_keeps_the_compiled_kernels_for_rows_of_one_length() -> None:
    from rnnbench.models.plan import ONEDNN_MAX_HIDDEN

    hparams = SMALL | {"hidden": ONEDNN_MAX_HIDDEN + 1}
    assert build_model("lstm", make_meta(length=7), hparams).body.recurrence.uniform_plan is None
