"""The cell architectures' GPU path (models/step_compile.py: the reference loop with each
step compiled by torch.compile) equals the reference loop, on a CPU in float64, where
inductor compiles the step to C++; and the plan chooses it on CUDA with Triton."""

from __future__ import annotations

import copy
import shutil

import pytest
import torch

from rnnbench.models import build_model, step_compile
from rnnbench.models.bodies import layer_paths, plan_model
from rnnbench.models.plan import Path
from test_models import SMALL, make_meta
from test_models_scan import LENGTHS, assert_same_outputs_and_gradients, on_path

CELL_ARCHS = ["lstm_peephole", "lstm_cifg", "rnn_cell", "lstm_cell", "gru_cell"]
needs_compiler = pytest.mark.skipif(
    shutil.which("g++") is None and shutil.which("cc") is None,
    reason="torch.compile on a CPU needs a C++ compiler",
)


@pytest.fixture(autouse=True)
def compiled_for_real():
    """Fail where dynamo would stop compiling and run the step eagerly (its recompile
    limit), so that these tests compare the compiled step, not the loop with itself;
    fullgraph=True already fails on a graph break."""
    with torch._dynamo.config.patch(fail_on_recompile_limit_hit=True):
        yield


@needs_compiler
@pytest.mark.parametrize("arch", CELL_ARCHS)
@pytest.mark.parametrize(
    ("task", "padding", "layers"), [("sentiment", "pre", 2), ("ner", "post", 1)]
)
def test_compiled_step_equals_the_reference_loop(
    arch: str, task: str, padding: str, layers: int
) -> None:
    meta = make_meta(task=task, length=7, padding=padding, num_classes=3 if task == "ner" else 2)
    model = build_model(arch, meta, SMALL | {"layers": layers}).double()
    with torch.no_grad():  # non-zero peepholes, so that their gradients are tested too
        for name, param in model.body.named_parameters():
            if "peephole" in name:
                param.uniform_(-0.5, 0.5)
    stepped, loop = on_path(model, Path.STEP_COMPILED), on_path(model, Path.REFERENCE)
    assert layer_paths(stepped) == [step_compile.EXEC_STEP_COMPILED] * layers
    assert_same_outputs_and_gradients(stepped, loop, meta, LENGTHS)


@needs_compiler
def test_compiled_step_follows_batch_sizes_and_training_steps() -> None:
    """Several batch sizes (bucket remainders) and optimizer steps: still the loop's
    values, the parameters updated between calls read afresh, not baked in."""
    meta = make_meta(length=7)
    model = build_model("lstm_peephole", meta, SMALL).double()
    stepped, loop = on_path(model, Path.STEP_COMPILED), on_path(model, Path.REFERENCE)
    optimizers = [torch.optim.SGD(m.parameters(), lr=0.5) for m in (stepped, loop)]
    for batch in (6, 4, 6, 3):
        lengths = LENGTHS[:batch]
        x = torch.randint(2, meta.vocab_size, (batch, meta.length))
        outputs = []
        for model_, optimizer in zip((stepped, loop), optimizers, strict=True):
            optimizer.zero_grad()
            out = model_(x, lengths)
            out.square().sum().backward()
            optimizer.step()
            outputs.append(out.detach())
        torch.testing.assert_close(outputs[0], outputs[1], atol=1e-10, rtol=1e-10)
    for a, b in zip(stepped.parameters(), loop.parameters(), strict=True):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-10)


def test_plan_chooses_the_compiled_step_for_cells_on_cuda_with_triton(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    meta = make_meta(length=7)
    cuda = torch.device("cuda")  # planned only: no GPU needed
    monkeypatch.setattr(step_compile, "triton_installed", lambda: True)
    assert step_compile.available(cuda) and not step_compile.available(torch.device("cpu"))
    for arch in CELL_ARCHS:
        model = build_model(arch, meta, SMALL, device=cuda)
        assert model.body.recurrence.plan.path is Path.STEP_COMPILED, arch
    # The fused architectures keep cuDNN; on a CPU nothing changes.
    monkeypatch.setattr(torch.backends.cudnn, "is_available", lambda: True)
    assert build_model("lstm", meta, SMALL, device=cuda).body.recurrence.plan.path is Path.LIBRARY
    for arch in CELL_ARCHS:
        path = build_model(arch, meta, SMALL).body.recurrence.plan.path
        assert path in (Path.COMPILED, Path.REFERENCE), arch
    # Without Triton, the cells fall back to their reference loop on a GPU.
    monkeypatch.setattr(step_compile, "triton_installed", lambda: False)
    model = build_model("lstm_cifg", meta, SMALL, device=cuda)
    assert model.body.recurrence.plan.path is Path.REFERENCE


def test_only_cells_have_a_compiled_step() -> None:
    model = build_model("lstm", make_meta(length=7), SMALL)
    with pytest.raises(ValueError, match="lstm is no cell architecture"):
        plan_model(model, torch.device("cpu"), Path.STEP_COMPILED)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("arch", CELL_ARCHS)
def test_gpu_compiled_step_equals_the_reference_loop(arch: str) -> None:
    """On the GPU (Triton kernels), float32: the planned path against the reference loop
    at 1e-5, outputs and every gradient."""
    meta = make_meta(task="sentiment", length=7, padding="pre")
    cuda = torch.device("cuda")
    model = build_model(arch, meta, SMALL | {"layers": 2}, device=cuda).to(cuda)
    assert model.body.recurrence.plan.path is Path.STEP_COMPILED
    loop = copy.deepcopy(model)
    plan_model(loop, cuda, Path.REFERENCE)
    x = torch.randint(2, meta.vocab_size, (len(LENGTHS), meta.length), device=cuda)
    lengths = LENGTHS.to(cuda)
    outputs = []
    for model_ in (model, loop):
        out = model_(x, lengths)
        out.square().sum().backward()
        outputs.append(out)
    torch.testing.assert_close(outputs[0], outputs[1], atol=1e-5, rtol=1e-5)
    for (name, a), b in zip(model.named_parameters(), loop.parameters(), strict=True):
        torch.testing.assert_close(a.grad, b.grad, atol=1e-5, rtol=1e-5, msg=name)
