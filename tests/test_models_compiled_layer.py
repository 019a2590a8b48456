"""The compiled whole-layer kernels and the table-lookup projection equal the paths they
replace (projection + scan, embedding + projection): outputs and every gradient, float64."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from rnnbench.models import native, recurrent
from rnnbench.models.compiled_layer import compiled_layer, layer_group, layer_pieces
from rnnbench.models.plan import Path
from rnnbench.models.recurrent import (
    project,
    project_rows,
    project_table,
    scan_layer,
    table_pays,
)
from test_models import make_meta
from test_models_scan import FAST_PATHS, scan_and_torch

EXACT = {"atol": 1e-10, "rtol": 1e-10}
BLOCKS = {"rnn": 1, "lstm": 4, "gru": 3}
LENGTHS = torch.tensor([7, 2, 5, 1, 7, 3])

needs_native = pytest.mark.skipif(
    not native.available(), reason=f"no compiled kernels: {native.describe()}"
)


def _layer_inputs(
    kind: str, steps: int, dirs: int, features: int, hidden: int, batch: int, dtype: torch.dtype
) -> list[Tensor]:
    """inputs [T, D, F, B], w_ih, w_hh, bias, b_hn as recurrent.layer_weights gives them."""
    generator = torch.Generator().manual_seed(11)
    gates = BLOCKS[kind] * hidden

    def rand(*shape: int) -> Tensor:
        values = torch.randn(*shape, generator=generator, dtype=torch.float64) * 0.7
        return values.to(dtype).requires_grad_()

    return [
        rand(steps, dirs, features, batch),
        rand(dirs, gates, features),
        rand(dirs, gates, hidden),
        rand(dirs, gates),
        rand(dirs, hidden),
    ]


def _weighted_sum(out: Tensor) -> Tensor:
    """An asymmetric scalar loss: every output gets its own weight."""
    return (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)).sum()


def _outputs_and_grads(layer, kind: str, inputs: list[Tensor]) -> list[Tensor]:
    out = layer(kind, *inputs)
    used = inputs if kind == "gru" else inputs[:4]  # b_hn is the GRU's alone
    return [out, *torch.autograd.grad(_weighted_sum(out), used)]


def _projected_scan(kind: str, x: Tensor, w_ih: Tensor, w_hh: Tensor, bias: Tensor, b_hn: Tensor):
    return scan_layer(kind, project(x, w_ih, bias), w_hh, b_hn)


@needs_native
@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize(
    ("steps", "dirs", "features", "hidden", "batch"),
    [
        (1, 1, 3, 2, 5),  # one step: no state product at all
        (6, 1, 5, 3, 37),  # odd sizes: every remainder path of the blocked loops
        (6, 2, 6, 4, 300),  # two directions, two column groups (two pieces each)
        (5, 1, 4, 3, 70),  # one direction cut in two pieces, 64 columns and 6
        (4, 2, 17, 9, 19),  # inputs wider than the gates' blocks of 8 and 4
    ],
)
def test_compiled_layer_equals_projection_and_scan(
    kind: str, steps: int, dirs: int, features: int, hidden: int, batch: int
) -> None:
    inputs = _layer_inputs(kind, steps, dirs, features, hidden, batch, torch.float64)
    fused = _outputs_and_grads(compiled_layer, kind, inputs)
    reference = _outputs_and_grads(_projected_scan, kind, inputs)
    for got, want in zip(fused, reference, strict=True):
        torch.testing.assert_close(got, want, **EXACT)


@needs_native
@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_compiled_layer_float32_is_close_to_projection_and_scan(kind: str) -> None:
    inputs = _layer_inputs(kind, 8, 2, 6, 5, 40, torch.float32)
    fused = _outputs_and_grads(compiled_layer, kind, inputs)
    reference = _outputs_and_grads(_projected_scan, kind, inputs)
    for got, want in zip(fused, reference, strict=True):
        torch.testing.assert_close(got, want, atol=5e-5, rtol=5e-5)


def _vocab_inputs(dirs: int, dtype: torch.dtype = torch.float64):
    """Token ids [B, T] (padding id 0 both inside and after rows), an embedding whose
    padding row is not zero (so its missing gradient is visible), w_ih and bias."""
    generator = torch.Generator().manual_seed(12)
    vocab, dim, gates = 9, 6, 4
    ids = torch.randint(1, vocab, (len(LENGTHS), 7), generator=generator)
    ids[0, 3] = 0  # a padding id inside a row's length
    for row, length in enumerate(LENGTHS.tolist()):
        ids[row, length:] = 0
    embedding = nn.Embedding(vocab, dim, padding_idx=0).to(dtype)
    with torch.no_grad():
        embedding.weight.copy_(torch.randn(vocab, dim, generator=generator))
    w_ih = torch.randn(dirs, gates, dim, generator=generator, dtype=dtype).requires_grad_()
    bias = torch.randn(dirs, gates, generator=generator, dtype=dtype).requires_grad_()
    return ids, embedding, w_ih, bias


def _projection_and_grads(x_proj: Tensor, params: list[Tensor]) -> list[Tensor]:
    return [x_proj, *torch.autograd.grad(_weighted_sum(x_proj), params)]


@needs_native
@pytest.mark.parametrize("dirs", [1, 2])
def test_table_projection_equals_embedding_then_projection(dirs: int) -> None:
    ids, embedding, w_ih, bias = _vocab_inputs(dirs)
    params = [embedding.weight, w_ih, bias]
    table = _projection_and_grads(project_table(ids, embedding, w_ih, bias, LENGTHS), params)
    rows = project_rows(embedding(ids), w_ih, bias, LENGTHS)
    reference = _projection_and_grads(rows, params)
    for got, want in zip(table, reference, strict=True):
        torch.testing.assert_close(got, want, **EXACT)
    assert table[1][0].abs().sum() == 0  # the padding row gets no gradient


@needs_native
def test_table_projection_gives_the_same_bits_on_any_thread_count() -> None:
    ids, embedding, w_ih, bias = _vocab_inputs(2, torch.float32)
    ids = ids.repeat(100, 1)  # 600 rows: three column groups
    lengths = LENGTHS.repeat(100)
    threads = torch.get_num_threads()
    results = []
    try:
        for count in (1, 3):
            torch.set_num_threads(count)
            x_proj = project_table(ids, embedding, w_ih, bias, lengths)
            results.append(_projection_and_grads(x_proj, [embedding.weight, w_ih, bias]))
    finally:
        torch.set_num_threads(threads)
    for one, three in zip(*results, strict=True):
        assert torch.equal(one, three)


@needs_native
@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("batch", [600, 128])  # three column groups; one cut in two
def test_compiled_layer_gives_the_same_bits_on_any_thread_count(kind: str, batch: int) -> None:
    inputs = _layer_inputs(kind, 5, 1, 4, 3, batch, torch.float32)
    threads = torch.get_num_threads()
    results = []
    try:
        for count in (1, 3):
            torch.set_num_threads(count)
            results.append(_outputs_and_grads(compiled_layer, kind, inputs))
    finally:
        torch.set_num_threads(threads)
    for one, three in zip(*results, strict=True):
        assert torch.equal(one, three)


@needs_native
@pytest.mark.parametrize("bad", [-1, 9])
def test_table_projection_names_an_id_outside_the_vocabulary(bad: int) -> None:
    ids, embedding, w_ih, bias = _vocab_inputs(1)
    ids[1, 0] = bad
    with pytest.raises(IndexError, match=r"token ids must be in \[0, 9\)"):
        project_table(ids, embedding, w_ih, bias, LENGTHS)


def test_the_table_is_used_only_where_it_pays() -> None:
    ids = torch.zeros(4, 5, dtype=torch.long)  # 20 tokens
    wide = nn.Embedding(20, 16, padding_idx=0)
    assert table_pays(wide, ids, 8, 1)
    assert not table_pays(wide, ids, 16, 1)  # gates as wide as the embedding
    assert not table_pays(nn.Embedding(21, 16), ids, 8, 1)  # more words than tokens
    # the gradient sums, 2 pieces x 8 x 20, would outgrow the embedded batch, 20 x 9
    assert table_pays(nn.Embedding(20, 9), ids, 8, 1)
    assert not table_pays(nn.Embedding(20, 9), ids, 8, 2)
    assert not table_pays(nn.Embedding(20, 16, max_norm=1.0), ids, 8, 1)
    assert not table_pays(nn.Linear(1, 16), ids, 8, 1)  # the memory task's encoder
    assert not table_pays(wide, ids.float(), 8, 1)


def _assert_same_training_step(
    model: nn.Module, reference: nn.Module, ids: Tensor, lengths: Tensor
) -> dict[str, nn.Parameter]:
    """model on token ids and reference on embedded inputs (its encoder, then its body,
    run by torch's module) give the same outputs and parameter gradients; returns
    model's parameters."""
    results = []
    for net, forward in [
        (model, lambda: model(ids, lengths)),
        (reference, lambda: reference.head(reference.body(reference.encoder(ids), lengths))),
    ]:
        out = forward()
        _weighted_sum(out).backward()
        results.append((out, dict(net.named_parameters())))
    (out, params), (out_ref, params_ref) = results
    torch.testing.assert_close(out, out_ref, **EXACT)
    for name, param in params_ref.items():
        torch.testing.assert_close(params[name].grad, param.grad, **EXACT, msg=name)
    return params


def _token_ids(meta, lengths: Tensor) -> Tensor:
    generator = torch.Generator().manual_seed(13)
    ids = torch.randint(1, meta.vocab_size, (len(lengths), meta.length), generator=generator)
    for row, length in enumerate(lengths.tolist()):
        if meta.padding == "post":
            ids[row, length:] = 0
        else:
            ids[row, : meta.length - length] = 0
    return ids


@pytest.mark.parametrize("arch", ["rnn", "lstm", "gru", "birnn", "bilstm", "bigru"])
@pytest.mark.parametrize("padding", ["post", "pre"])
@pytest.mark.parametrize("task", ["sentiment", "ner"])
@pytest.mark.parametrize("path", FAST_PATHS)
def test_models_on_token_ids_equal_torch_modules_on_embedded_inputs(
    arch: str, padding: str, task: str, path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # vocab 12 <= 6 rows x 7 steps and embedding 12 > the gates: the compiled path's first
    # layer looks its projection up in the table; the reference embeds first and runs
    # torch's module.
    tables = []
    monkeypatch.setattr(
        recurrent, "project_table", lambda *a: tables.append(a) or project_table(*a)
    )
    meta = make_meta(task=task, length=7, padding=padding, vocab=12, num_classes=3)
    hparams = {"embedding_dim": 12, "hidden": 2, "layers": 2}
    model, reference = scan_and_torch(arch, meta, hparams, path)
    with torch.no_grad():  # a padding row that is not zero: its gradient must stay zero
        model.encoder.weight[0] = 0.5
        reference.encoder.weight[0] = 0.5
    params = _assert_same_training_step(model, reference, _token_ids(meta, LENGTHS), LENGTHS)
    assert params["encoder.weight"].grad[0].abs().sum() == 0
    assert len(tables) == (1 if path is Path.COMPILED else 0)


@needs_native
@pytest.mark.parametrize("arch", ["rnn", "lstm", "gru"])
def test_deep_stacks_over_two_column_groups_run_compiled_layers_and_equal_torch(
    arch: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 300 rows: two pieces per direction, so a unidirectional layer runs compiled_layer.
    calls = []
    monkeypatch.setattr(
        recurrent, "compiled_layer", lambda *a: calls.append(a) or compiled_layer(*a)
    )
    lengths = torch.randint(1, 8, (300,), generator=torch.Generator().manual_seed(14))
    meta = make_meta(length=7, vocab=500)  # vocab > 300 x 7 tokens: no table
    model, reference = scan_and_torch(arch, meta, {"layers": 3})
    _assert_same_training_step(model, reference, _token_ids(meta, lengths), lengths)
    assert len(calls) == 3


@pytest.mark.parametrize("dirs", [1, 2])
def test_last_states_equal_torch_gather_bit_for_bit(dirs: int) -> None:
    """LastStates (the final states of [T, D, H, B] states, its gradient scattered in
    that layout) gives the same bits as torch.gather over the permuted states, forward
    and backward, in float32."""
    generator = torch.Generator().manual_seed(3)
    states = torch.randn(7, dirs, 5, len(LENGTHS), generator=generator, requires_grad=True)
    grad = torch.randn(len(LENGTHS), dirs * 5, generator=generator)
    got = recurrent.LastStates.apply(states, LENGTHS)
    (d_got,) = torch.autograd.grad(got, states, grad)
    by_row = states.permute(3, 1, 0, 2)
    index = (LENGTHS - 1).view(-1, 1, 1, 1).expand(-1, dirs, 1, 5)
    want = torch.gather(by_row, 2, index).flatten(1)
    (d_want,) = torch.autograd.grad(want, states, grad)
    assert torch.equal(got, want)
    assert torch.equal(d_got, d_want)
    assert d_got.is_contiguous()  # the kernels' layout, no copy left for them to make


def test_one_direction_of_64_to_256_columns_is_cut_in_two_pieces() -> None:
    """compiled_layer.layer_group: native's groups of 256 columns, but one direction of
    64-256 columns runs as two pieces (the first a multiple of 32 columns), so that two
    threads share it; the shape alone decides."""
    assert [layer_pieces(1, batch) for batch in (32, 63, 64, 128, 200, 256, 257, 600)] == [
        1,
        1,
        2,
        2,
        2,
        2,
        2,
        3,
    ]
    assert layer_group(1, 128) == 64 and layer_group(1, 100) == 64 and layer_group(1, 64) == 32
    assert [layer_pieces(2, batch) for batch in (32, 128, 300)] == [2, 2, 4]
