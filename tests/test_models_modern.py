"""transformer, mingru, minlstm, bimingru, biminlstm: the scan against a sequential loop,
padding, pooling and positions, and their parameter counts in ``rnnbench summary``."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import Tensor

from rnnbench.data.arrays import EncodedMeta
from rnnbench.models import build_model, native
from rnnbench.models.minrnn import parallel_scan_log, reverse_within_lengths
from rnnbench.registry import ModelConfigError
from test_models import make_meta, real_mask, run_summary, token_batch

MIN_ARCHS = ("mingru", "minlstm", "bimingru", "biminlstm")
SMALL = {"embedding_dim": 3, "hidden": 4, "head_hidden": 0, "heads": 2}
LENGTHS = [10, 4, 1, 7]


def test_log_space_scan_equals_the_linear_recurrence_in_float64() -> None:
    gen = torch.Generator().manual_seed(0)
    a = torch.rand(3, 50, 5, generator=gen, dtype=torch.float64) * 0.98 + 0.01
    b = torch.rand(3, 50, 5, generator=gen, dtype=torch.float64) + 0.01
    h, expected = torch.zeros(3, 5, dtype=torch.float64), []
    for t in range(50):
        h = a[:, t] * h + b[:, t]
        expected.append(h)
    torch.testing.assert_close(parallel_scan_log(a.log(), b.log()), torch.stack(expected, 1))


def with_impl(model: torch.nn.Module, impl: str) -> torch.nn.Module:
    other = copy.deepcopy(model)
    other.body.recurrence.impl = impl
    return other


needs_native = pytest.mark.skipif(
    not native.available(), reason=f"no compiled kernels: {native.describe()}"
)
# The compiled sequential scan and the log-space parallel scan, each against the loop.
FAST_IMPLS = [pytest.param("compiled", marks=needs_native), "scan"]


@pytest.mark.parametrize("impl", FAST_IMPLS)
@pytest.mark.parametrize("arch", MIN_ARCHS)
@pytest.mark.parametrize("task", ["sentiment", "ner", "memory"])
@pytest.mark.parametrize("padding", ["post", "pre"])
def test_every_scan_equals_a_sequential_loop_in_float64(
    impl: str, arch: str, task: str, padding: str
) -> None:
    """Outputs and every parameter's gradient, for ragged and full-length rows."""
    meta = make_meta(task=task, padding=padding, num_classes=3 if task == "ner" else 2)
    torch.manual_seed(0)
    scan = with_impl(build_model(arch, meta, SMALL | {"layers": 2}).double().eval(), impl)
    loop = with_impl(scan, "loop")
    for lengths in [LENGTHS, [meta.length] * 3]:
        if task == "memory":
            x = torch.randn(len(lengths), meta.length, dtype=torch.float64)
        else:
            x = token_batch(meta, lengths, junk=False)
        lengths = torch.tensor(lengths)
        out_scan, out_loop = scan(x, lengths), loop(x, lengths)
        torch.testing.assert_close(out_scan, out_loop, rtol=1e-10, atol=1e-10)
        weights = torch.linspace(-1, 1, out_loop.numel(), dtype=out_loop.dtype)
        (out_scan.flatten() * weights).sum().backward()
        (out_loop.flatten() * weights).sum().backward()
        for name, param in loop.named_parameters():
            got = scan.get_parameter(name).grad
            torch.testing.assert_close(got, param.grad, rtol=1e-9, atol=1e-10, msg=name)
        scan.zero_grad()
        loop.zero_grad()


@needs_native
@pytest.mark.parametrize("kind", ["mingru", "minlstm"])
def test_compiled_min_scan_has_exact_gradients_and_the_same_bits_on_any_thread_count(
    kind: str,
) -> None:
    from rnnbench.models.scan import MinScan

    lstm = kind == "minlstm"
    gen = torch.Generator().manual_seed(0)
    pre = torch.randn(70, 6, (3 if lstm else 2) * 5, generator=gen, dtype=torch.float64)
    torch.autograd.gradcheck(MinScan.apply, (pre[:3].requires_grad_(), lstm))
    # 70 rows are 3 pieces of rows: the split never changes a row's bits.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        one = MinScan.apply(pre.float(), lstm)
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(one, MinScan.apply(pre.float(), lstm))


@pytest.mark.parametrize(
    ("device", "compiled", "impl", "label"),
    [
        ("cpu", True, "compiled", "compiled kernels"),
        ("cpu", False, "scan", "parallel scan (torch ops)"),
        ("cuda", True, "scan", "parallel scan (torch ops)"),
    ],
)
def test_the_plan_picks_the_compiled_scan_on_a_cpu_and_the_parallel_scan_elsewhere(
    device: str, compiled: bool, impl: str, label: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rnnbench.models.bodies import execution_path

    monkeypatch.setattr(native, "available", lambda: compiled)
    model = build_model("bimingru", make_meta(), SMALL, device=device)  # planned only
    assert model.body.recurrence.impl == impl
    assert execution_path(model) == label


def test_a_min_rnn_can_be_forced_to_its_reference_loop_and_has_no_library_path() -> None:
    from rnnbench.models.bodies import plan_model
    from rnnbench.models.plan import Path

    model = build_model("minlstm", make_meta(), SMALL)
    plan_model(model, torch.device("cpu"), Path.REFERENCE)
    assert model.body.recurrence.impl == "loop"
    with pytest.raises(ValueError, match="no module for minGRU"):
        plan_model(model, torch.device("cpu"), Path.LIBRARY)


def test_the_backward_direction_reads_each_row_reversed_within_its_length() -> None:
    meta = make_meta(task="memory")
    torch.manual_seed(0)
    model = build_model("bimingru", meta, SMALL | {"embedding_dim": None}).double().eval()
    rec = model.body.recurrence  # input size 1: the scalar itself
    x = torch.randn(2, meta.length, dtype=torch.float64)
    lengths = torch.tensor([10, 3])
    features = rec(x[..., None], lengths, per_token=False)
    for row, length in enumerate(lengths.tolist()):
        real = x[row, :length].flip(0)[None, :, None]  # only the real steps, reversed
        backward = parallel_scan_log(*rec.backward_layers[0].log_terms(real))
        torch.testing.assert_close(features[row, 4:], backward[0, -1])
    swapped = reverse_within_lengths(torch.arange(10.0)[None, :, None].repeat(2, 1, 1), lengths)
    assert swapped[1, :, 0].tolist() == [2, 1, 0, 3, 4, 5, 6, 7, 8, 9]


@pytest.mark.parametrize("hparams", [{}, {"pooling": "cls"}, {"positions": "learned"}])
@pytest.mark.parametrize("task", ["sentiment", "ner"])
@pytest.mark.parametrize("padding", ["post", "pre"])
def test_transformer_never_reads_padding(hparams: dict, task: str, padding: str) -> None:
    meta = make_meta(task=task, padding=padding, num_classes=3 if task == "ner" else 2)
    torch.manual_seed(0)
    model = build_model("transformer", meta, SMALL | hparams).eval()
    lengths = torch.tensor(LENGTHS)
    clean = model(token_batch(meta, LENGTHS, junk=False), lengths)
    junk = model(token_batch(meta, LENGTHS, junk=True), lengths)
    if task == "ner":
        mask = real_mask(lengths, meta.length, padding)
        clean, junk = clean[mask], junk[mask]
    torch.testing.assert_close(clean, junk, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("padding", ["post", "pre"])
def test_transformer_short_padded_row_equals_the_unpadded_row(padding: str) -> None:
    """Pre-padded rows are rolled, so the first real token is position 0 either way."""
    torch.manual_seed(0)
    model = build_model("transformer", make_meta(padding=padding), SMALL).eval()
    x = token_batch(make_meta(padding=padding), [3], junk=False)
    real = x[:, :3] if padding == "post" else x[:, -3:]
    short = build_model("transformer", make_meta(length=3), SMALL).eval()
    short.load_state_dict(model.state_dict())
    torch.testing.assert_close(model(x, torch.tensor([3])), short(real, torch.tensor([3])))


def test_transformer_mean_pooling_is_over_real_positions_only() -> None:
    meta = make_meta(task="memory")
    torch.manual_seed(0)
    model = build_model("transformer", meta, SMALL | {"head_hidden": 0}).eval()
    x, lengths = torch.randn(1, 10), torch.tensor([4])
    per_token = model.body.recurrence(model.encoder(x), lengths, per_token=True)
    pooled = model.body.recurrence(model.encoder(x), lengths, per_token=False)
    torch.testing.assert_close(pooled, per_token[:, :4].mean(dim=1))
    assert per_token[:, 4:].abs().sum() == 0


def test_transformer_heads_must_divide_the_width() -> None:
    with pytest.raises(ModelConfigError, match="'heads' \\(3\\) must divide 'hidden' \\(32\\)"):
        build_model("transformer", make_meta(), {"heads": 3})


@pytest.mark.parametrize("arch", ["transformer", *MIN_ARCHS])
def test_new_archs_train_on_every_task(arch: str) -> None:
    """One optimiser step lowers nothing to NaN and reaches every parameter."""
    for task in ("sentiment", "ner", "memory"):
        meta = make_meta(task=task, num_classes=3 if task == "ner" else 2)
        torch.manual_seed(0)
        model = build_model(arch, meta, SMALL | {"layers": 2, "dropout": 0.1})
        if task == "memory":
            x: Tensor = torch.randn(4, meta.length)
        else:
            x = token_batch(meta, LENGTHS, junk=False)
        out = model(x, torch.tensor(LENGTHS))
        out.float().pow(2).mean().backward()
        grads = [p.grad for p in model.parameters() if p.requires_grad]
        assert all(g is not None and torch.isfinite(g).all() for g in grads), (arch, task)


@pytest.mark.parametrize(
    ("argv", "total"),
    [
        (["--arch", "transformer"], "173,517"),
        (["--arch", "transformer", "--pooling", "cls", "--heads", "2"], "173,549"),
        (["--arch", "mingru"], "161,293"),
        (["--arch", "biminlstm", "--task", "ner", "--num-classes", "5"], "163,689"),
        (["--arch", "bimingru", "--task", "memory", "--hidden", "8"], "173"),
    ],
)
def test_summary_counts_the_new_archs(
    argv: list[str], total: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_summary([*argv, "--embedding-dim", "16"] if "memory" not in argv else argv) == 0
    out = capsys.readouterr().out
    assert f"Total params: {total}" in out, out


def test_summary_lists_the_attention_projection() -> None:
    meta = EncodedMeta("s", "sentiment", 12, "post", "post", 100, 2)
    from rnnbench.models.summary import format_summary

    table = format_summary(build_model("transformer", meta, {"hidden": 8, "heads": 2}), meta)
    assert "self_attn (MultiheadAttention)" in table and "216" in table  # 3 * (8*8 + 8)
