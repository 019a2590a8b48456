"""The padded GPU path (models/padded.py) equals torch's packed modules: outputs and every
gradient, float64 on the CPU for random lengths; float32 on a GPU where one is present."""

from __future__ import annotations

import copy
import dataclasses

import pytest
import torch

from rnnbench.models import bodies, build_model
from rnnbench.models.padded import reversed_index
from rnnbench.models.plan import Path
from test_models import SMALL, make_meta, run_body_and_head

FUSED = ["rnn", "lstm", "gru", "birnn", "bilstm", "bigru"]
EXACT = {"atol": 1e-10, "rtol": 1e-10}


def padded_and_packed(arch: str, meta, hparams: dict, dtype: torch.dtype, device: str):
    """The same model twice (same weights): the padded path and the packed reference."""
    torch.manual_seed(0)
    padded = build_model(arch, meta, SMALL | hparams).to(device, dtype)
    bodies.plan_model(padded, torch.device("cpu"), Path.LIBRARY)
    reference = copy.deepcopy(padded)
    unpack(padded)
    return padded, reference


def unpack(model: torch.nn.Module) -> None:
    """torch's modules over the padded batch (the GPU's plan), on whatever device."""
    recurrence = model.body.recurrence
    recurrence.plan = dataclasses.replace(recurrence.plan, unpacked=True)


def random_lengths(batch: int, length: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, length + 1, (batch,), generator=gen)
    lengths[0] = length  # one full row, one of length 1
    lengths[1] = 1
    return lengths


def assert_padded_equals_packed(
    arch: str, task: str, padding: str, layers: int, seed: int, dtype, device: str, tol: dict
) -> None:
    length = 9
    meta = make_meta(task=task, length=length, padding=padding, num_classes=3)
    padded, reference = padded_and_packed(arch, meta, {"layers": layers}, dtype, device)
    lengths = random_lengths(7, length, seed).to(device)
    gen = torch.Generator().manual_seed(seed)
    h = torch.randn(len(lengths), length, SMALL["embedding_dim"], generator=gen)
    assert_same_results(padded, reference, h.to(device, dtype), lengths, tol)


def assert_same_results(
    padded: torch.nn.Module, reference: torch.nn.Module, h: torch.Tensor, lengths, tol: dict
) -> None:
    """Outputs, input gradients and every parameter gradient of the two models agree."""
    h_pad, h_ref = h.clone().requires_grad_(), h.clone().requires_grad_()
    out_pad, loss_pad = run_body_and_head(padded, h_pad, lengths)
    out_ref, loss_ref = run_body_and_head(reference, h_ref, lengths)
    loss_pad.backward()
    loss_ref.backward()
    torch.testing.assert_close(out_pad, out_ref, **tol)
    torch.testing.assert_close(h_pad.grad, h_ref.grad, **tol)
    for name, param in reference.named_parameters():
        grad = padded.get_parameter(name).grad
        if param.grad is None:
            assert grad is None or not grad.any(), name
            continue
        torch.testing.assert_close(grad, param.grad, **tol, msg=name)


@pytest.mark.parametrize("arch", FUSED)
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("padding", ["post", "pre"])
@pytest.mark.parametrize("task", ["sentiment", "ner"])
def test_padded_equals_packed(arch: str, layers: int, padding: str, task: str) -> None:
    for seed in (1, 2):
        assert_padded_equals_packed(arch, task, padding, layers, seed, torch.float64, "cpu", EXACT)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("arch", FUSED)
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("padding", ["post", "pre"])
@pytest.mark.parametrize("task", ["sentiment", "ner"])
def test_gpu_padded_equals_packed(arch: str, layers: int, padding: str, task: str) -> None:
    torch.backends.cudnn.allow_tf32 = False  # float32 products: comparable at 1e-5
    torch.backends.cuda.matmul.allow_tf32 = False
    tol = {"atol": 1e-5, "rtol": 1e-5}
    assert_padded_equals_packed(arch, task, padding, layers, 1, torch.float32, "cuda", tol)


def test_reversed_index_is_its_own_inverse() -> None:
    lengths = torch.tensor([4, 1, 3])
    index = reversed_index(lengths, 5)
    assert index.tolist() == [[3, 2, 1, 0, 4], [0, 1, 2, 3, 4], [2, 1, 0, 3, 4]]
    assert torch.gather(index, 1, index).tolist() == [list(range(5))] * 3


def test_gpu_models_take_the_padded_path_chosen_once() -> None:
    # Planned for a CUDA device (a torch.device, no GPU needed): torch's modules over the
    # padded batch; for the CPU the packed module or the compiled kernels.
    meta = make_meta()
    model = build_model("bilstm", meta, SMALL)
    assert not model.body.recurrence.plan.unpacked
    assert bodies.layer_paths(model)[0] != "cuDNN, unpacked"
    with torch.backends.cudnn.flags(enabled=True):
        bodies.plan_model(model, torch.device("cuda"))
    plan = model.body.recurrence.plan
    assert plan.path is Path.LIBRARY and plan.unpacked
    if torch.backends.cudnn.is_available():
        assert bodies.layer_paths(model) == ["cuDNN, unpacked"]
    assert bodies.layer_paths(model)[0].endswith(", unpacked")


def test_padded_path_rejects_bad_lengths() -> None:
    meta = make_meta(length=5)
    model = build_model("gru", meta, SMALL)
    bodies.plan_model(model, torch.device("cpu"), Path.LIBRARY)
    unpack(model)
    x = torch.randint(2, 50, (2, 5))
    with pytest.raises(RuntimeError, match="length in"):
        model(x, torch.tensor([3, 0]))
    assert model(x, torch.tensor([3, 5])).shape == (2,)
