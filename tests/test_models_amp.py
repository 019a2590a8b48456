"""Mixed precision: every architecture trains under autocast (issue 18).

On CPU, bf16 autocast (``torch.autocast("cpu", dtype=torch.bfloat16)``) exercises the same
dtype handling as CUDA autocast: the input projections come out in bf16 while the
parameters stay float32. Each architecture runs forward and backward as planned without
compiled kernels (the reference loop or torch's modules: what a GPU or a machine without
a C++ compiler runs) and with rnnbench's compiled kernels chosen explicitly where the
model has them.
"""

from __future__ import annotations

import pytest
import torch

from rnnbench import registry
from rnnbench.models import build_model, native
from rnnbench.models.bodies import FusedRecurrence
from rnnbench.models.plan import Path
from test_models import SMALL, make_meta

ARCHS = registry.names()
LENGTHS = torch.tensor([7, 2, 5, 1, 6])


@pytest.fixture
def no_compiler(monkeypatch: pytest.MonkeyPatch) -> None:
    """Models planned as where no compiled kernels are built (as on a GPU for the cells)."""
    monkeypatch.setattr(native, "available", lambda: False)


def _force_compiled(model: torch.nn.Module) -> None:
    """rnnbench's compiled kernels for the fused architectures where they are built (the
    plan picks torch's oneDNN LSTM for some); the cell architectures keep their plan."""
    if not native.available():
        return
    for module in model.modules():
        if isinstance(module, FusedRecurrence):
            module.plan_for(torch.device("cpu"), Path.COMPILED)


def _ids(meta, lengths: torch.Tensor, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randint(2, meta.vocab_size, (len(lengths), meta.length), generator=gen)
    real = torch.arange(meta.length)[None, :] < lengths[:, None]
    if meta.padding == "pre":
        real = real.flip(1)
    return x * real


# bf16 keeps 8 significant bits (fp16 11): the logits agree with float32's to a few
# percent of the largest float32 logit (measured: at most 4.8%, minGRU under bf16).
TOLERANCE = 0.1


def assert_close_to_float32(logits: torch.Tensor, reference: torch.Tensor) -> None:
    """Autocast's logits against float32's, at a tolerance scaled to the float32 logits.

    A fixed atol would pass an all-zero output wherever every logit is below it (with
    0.05: 10 of 18 architectures at these small shapes); scaled, an output that is off by
    the logits' own size fails (test_an_all_zero_output_fails).
    """
    scale = float(reference.abs().max())
    assert scale > 0, "float32 logits all zero: nothing to compare with"
    torch.testing.assert_close(logits.float(), reference, atol=TOLERANCE * scale, rtol=TOLERANCE)


def _model_and_input(arch: str, task: str, padding: str):
    meta = make_meta(task=task, length=7, padding=padding, num_classes=3 if task == "ner" else 2)
    torch.manual_seed(0)
    model = build_model(arch, meta, SMALL | {"head_hidden": 0})  # a linear head: no dead ReLU
    _force_compiled(model)
    return model, _ids(meta, LENGTHS)


def _run_amp(arch: str, task: str, padding: str, dtype: torch.dtype) -> None:
    model, x = _model_and_input(arch, task, padding)
    with torch.no_grad():
        reference = model(x, LENGTHS)
    with torch.autocast("cpu", dtype=dtype):
        logits = model(x, LENGTHS)
    assert logits.dtype in (dtype, torch.float32), logits.dtype
    assert_close_to_float32(logits, reference)
    loss = logits.float().square().mean()
    assert torch.isfinite(loss)
    # fp16 trains with loss scaling (as loop.py does); bf16 needs none.
    torch.amp.GradScaler("cpu", enabled=dtype == torch.float16).scale(loss).backward()
    for name, param in model.named_parameters():
        if param.grad is None:
            continue
        assert param.grad.dtype == param.dtype == torch.float32, name
        assert torch.isfinite(param.grad).all(), name
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and any(bool(g.abs().sum() > 0) for g in grads)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=["bf16", "fp16"])
@pytest.mark.parametrize("arch", ARCHS)
def test_autocast_without_compiled_kernels(
    arch: str, dtype: torch.dtype, no_compiler: None
) -> None:
    _run_amp(arch, "sentiment", "post", dtype)


@pytest.mark.parametrize("arch", [a for a in ARCHS if a != "flatten"])  # flatten tags nothing
def test_bf16_autocast_per_token_pre_padded(arch: str, no_compiler: None) -> None:
    _run_amp(arch, "ner", "pre", torch.bfloat16)


@pytest.mark.parametrize("arch", ARCHS)
def test_bf16_autocast_default_paths(arch: str) -> None:
    # The compiled kernels (where this machine builds them) take the recurrence in float32.
    _run_amp(arch, "sentiment", "post", torch.bfloat16)


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize(("task", "padding"), [("sentiment", "post"), ("ner", "pre")])
def test_an_all_zero_output_fails(arch: str, task: str, padding: str, no_compiler: None) -> None:
    """The comparison above cannot pass a broken model that outputs zeros (or logits
    scaled down to nothing), whatever the size of the architecture's logits."""
    if arch == "flatten" and task == "ner":
        pytest.skip("flatten tags nothing")
    model, x = _model_and_input(arch, task, padding)
    with torch.no_grad():
        reference = model(x, LENGTHS)
    for broken in (torch.zeros_like(reference), reference / 10):
        with pytest.raises(AssertionError, match="Tensor-likes are not close"):
            assert_close_to_float32(broken, reference)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=["bf16", "fp16"])
@pytest.mark.parametrize("arch", ARCHS)
def test_gpu_autocast(arch: str, dtype: torch.dtype) -> None:
    """CUDA autocast on the paths a GPU takes (padded cuDNN, the reference loop for the
    cells): finite, float32 gradients (issue 18's crash)."""
    meta = make_meta(task="sentiment", length=7, num_classes=2)
    torch.manual_seed(0)
    model = build_model(arch, meta, SMALL | {"head_hidden": 0}, device="cuda").cuda()
    x, lengths = _ids(meta, LENGTHS).cuda(), LENGTHS.cuda()
    scaler = torch.amp.GradScaler("cuda", enabled=dtype == torch.float16)
    with torch.no_grad():
        reference = model(x, lengths)
    with torch.autocast("cuda", dtype=dtype):
        logits = model(x, lengths)
    assert_close_to_float32(logits, reference)
    loss = logits.float().square().mean()
    scaler.scale(loss).backward()
    assert torch.isfinite(loss)
    for name, param in model.named_parameters():
        if param.grad is not None:
            assert param.grad.dtype == torch.float32 and torch.isfinite(param.grad).all(), name
