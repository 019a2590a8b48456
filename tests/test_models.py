"""Model zoo: parameter counts, explicit cells vs fused modules, padding handling, summary."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from rnnbench import registry
from rnnbench.cli import build_parser
from rnnbench.data.arrays import EncodedMeta
from rnnbench.models import ARCHITECTURES, RECURRENT, build_model

CELL_TWINS = [("rnn_cell", "rnn"), ("lstm_cell", "lstm"), ("gru_cell", "gru")]
SMALL = {
    "embedding_dim": 3,
    "hidden": 5,
    "head_hidden": 4,
    "conv_filters": 6,
    "conv_kernel": 3,
    "heads": 1,  # transformer: must divide hidden 5
}


def make_meta(
    task: str = "sentiment",
    length: int = 10,
    padding: str = "post",
    vocab: int = 50,
    num_classes: int = 2,
) -> EncodedMeta:
    vocab = 0 if task == "memory" else vocab
    return EncodedMeta("test", task, length, padding, "post", vocab, num_classes)


def count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def real_mask(lengths: Tensor, length: int, padding: str) -> Tensor:
    """[B, L] True at real positions."""
    positions = torch.arange(length)[None, :]
    if padding == "post":
        return positions < lengths[:, None]
    return positions >= (length - lengths)[:, None]


def token_batch(meta: EncodedMeta, lengths: list[int], junk: bool, seed: int = 0) -> Tensor:
    """int32 ids as the data stage writes them; padding is 0, or random ids if ``junk``."""
    gen = torch.Generator().manual_seed(seed)
    lengths_t = torch.tensor(lengths)
    x = torch.randint(2, meta.vocab_size, (len(lengths), meta.length), generator=gen)
    mask = real_mask(lengths_t, meta.length, meta.padding)
    if junk:
        padding_content = torch.randint(1, meta.vocab_size, x.shape, generator=gen)
    else:
        padding_content = torch.zeros_like(x)
    return torch.where(mask, x, padding_content).to(torch.int32)


# --- parameter counts -----------------------------------------------------------------

SEED_A = make_meta(length=120, vocab=10_000)
SEED_A_COUNTS = {
    "flatten": 171_533,  # = Keras, exactly
    "cnn": 171_149,  # = Keras, exactly
    "rnn": 161_805,
    "lstm": 166_605,
    "gru": 165_005,
    "birnn": 163_597,
    "bilstm": 173_197,  # Keras 172,941: torch keeps two bias vectors per gate
    "bigru": 169_997,  # = Keras (reset_after=True also keeps two)
    "rnn_cell": 161_805,
    "lstm_cell": 166_605,
    "gru_cell": 165_005,
    "lstm_peephole": 166_701,  # lstm + 3 peephole vectors of 32
    "lstm_cifg": 165_005,  # lstm minus the input gate block
    # Linear(16, 32) in, one pre-LN layer (attention 4,224 + feed-forward 8,352 + 2
    # LayerNorms 128) and the final LayerNorm 64: 13,312 beside the embedding and head.
    "transformer": 173_517,
    "mingru": 161_293,  # Linear(16, 2 * 32): 1,088
    "minlstm": 161_837,  # Linear(16, 3 * 32): 1,632
    "bimingru": 162_573,  # 2 x 1,088, head Linear(64, 6)
    "biminlstm": 163_661,  # 2 x 1,632, head Linear(64, 6)
}


def test_every_arch_has_a_seed_a_count() -> None:
    assert set(SEED_A_COUNTS) == set(ARCHITECTURES)


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_parameter_counts_at_seed_a_shapes(arch: str) -> None:
    model = build_model(arch, SEED_A, {"embedding_dim": 16, "hidden": 32, "head_hidden": 6})
    assert count(model) == SEED_A_COUNTS[arch]


@pytest.mark.parametrize(("arch", "keras"), [("bilstm", 172_941), ("bigru", 169_997)])
def test_recurrent_counts_within_one_percent_of_keras(arch: str, keras: int) -> None:
    assert abs(count(build_model(arch, SEED_A, {})) - keras) <= 0.01 * keras


def test_seed_b_memory_models_feed_the_scalar_directly() -> None:
    meta = make_meta(task="memory", length=50)
    hp = {"hidden": 64, "head_hidden": 0}
    # nn.RNN(1, 64) + Linear(64, 1): 4,288 + 65; nn.LSTM(1, 64) + Linear(64, 1): 17,152 + 65.
    assert count(build_model("rnn", meta, hp)) == 4_353
    assert count(build_model("lstm", meta, hp)) == 17_217


def test_init_is_deterministic_under_manual_seed() -> None:
    meta = make_meta()
    states = []
    for _ in range(2):
        torch.manual_seed(123)
        states.append(build_model("lstm_peephole", meta, SMALL).state_dict())
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])


# --- explicit cells == fused modules --------------------------------------------------


def copy_fused_into_cells(fused: nn.Module, cells: nn.Module) -> None:
    """Both keep torch's layout, so weight_ih_l{k} etc. copy to cells[k].weight_ih etc."""
    with torch.no_grad():
        for k, cell in enumerate(cells.cells):
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(cell, name).copy_(getattr(fused, f"{name}_l{k}"))


def run_body_and_head(model: nn.Module, h: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
    """Forward from encoded vectors (so we can take gradients w.r.t. the input) to a scalar."""
    out = model.head(model.body(h, lengths))
    weights = torch.linspace(-1.0, 1.0, out.numel(), dtype=out.dtype).view_as(out)
    return out, (out * weights).sum()  # an asymmetric loss: every output gets its own weight


def twin_models(cell_arch: str, fused_arch: str, meta: EncodedMeta, layers: int):
    hp = SMALL | {"layers": layers}
    fused = build_model(fused_arch, meta, hp).double()
    cells = build_model(cell_arch, meta, hp).double()
    cells.head.load_state_dict(fused.head.state_dict())
    return fused, cells


def encoded_input(
    meta: EncodedMeta, lengths: Tensor, seed: int = 1, dim: int = SMALL["embedding_dim"]
) -> tuple[Tensor, Tensor]:
    """Two identical leaf tensors [B, L, dim] (float64) with junk at the padding positions."""
    gen = torch.Generator().manual_seed(seed)
    h = torch.randn(len(lengths), meta.length, dim, generator=gen)
    h = h.double()
    return h.clone().requires_grad_(), h.clone().requires_grad_()


LENGTHS = torch.tensor([7, 2, 5, 1])


@pytest.mark.parametrize(("cell_arch", "fused_arch"), CELL_TWINS)
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("padding", ["post", "pre"])
@pytest.mark.parametrize("task", ["sentiment", "ner"])
def test_explicit_cell_equals_fused(
    cell_arch: str, fused_arch: str, layers: int, padding: str, task: str
) -> None:
    meta = make_meta(task=task, length=7, padding=padding, num_classes=3 if task == "ner" else 2)
    fused, cells = twin_models(cell_arch, fused_arch, meta, layers)
    copy_fused_into_cells(fused.body.recurrence.rnn, cells.body.recurrence)
    h_fused, h_cells = encoded_input(meta, LENGTHS)

    out_fused, loss_fused = run_body_and_head(fused, h_fused, LENGTHS)
    out_cells, loss_cells = run_body_and_head(cells, h_cells, LENGTHS)
    loss_fused.backward()
    loss_cells.backward()

    torch.testing.assert_close(out_cells, out_fused, atol=1e-10, rtol=1e-10)
    torch.testing.assert_close(h_cells.grad, h_fused.grad, atol=1e-10, rtol=1e-10)
    rnn = fused.body.recurrence.rnn
    for k, cell in enumerate(cells.body.recurrence.cells):
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            expected = getattr(rnn, f"{name}_l{k}").grad
            torch.testing.assert_close(getattr(cell, name).grad, expected, atol=1e-10, rtol=1e-10)
    for name, param in cells.head.named_parameters():
        torch.testing.assert_close(param.grad, fused.head.get_parameter(name).grad)


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("task", ["sentiment", "ner"])
def test_peephole_with_zero_peepholes_is_plain_lstm(layers: int, task: str) -> None:
    meta = make_meta(task=task, length=7, num_classes=3 if task == "ner" else 2)
    fused, peephole = twin_models("lstm_peephole", "lstm", meta, layers)
    copy_fused_into_cells(fused.body.recurrence.rnn, peephole.body.recurrence)
    with torch.no_grad():
        for cell in peephole.body.recurrence.cells:
            for vector in (cell.peephole_i, cell.peephole_f, cell.peephole_o):
                vector.zero_()
    h_fused, h_peep = encoded_input(meta, LENGTHS)
    out_fused, loss_fused = run_body_and_head(fused, h_fused, LENGTHS)
    out_peep, loss_peep = run_body_and_head(peephole, h_peep, LENGTHS)
    loss_fused.backward()
    loss_peep.backward()
    torch.testing.assert_close(out_peep, out_fused, atol=1e-10, rtol=1e-10)
    torch.testing.assert_close(h_peep.grad, h_fused.grad, atol=1e-10, rtol=1e-10)
    cell = peephole.body.recurrence.cells[0]
    torch.testing.assert_close(cell.weight_hh.grad, fused.body.recurrence.rnn.weight_hh_l0.grad)
    # The peepholes are live parameters: at zero they still receive a gradient.
    assert cell.peephole_i.grad.abs().sum() > 0 and cell.peephole_o.grad.abs().sum() > 0


def test_peepholes_change_the_output() -> None:
    meta = make_meta(length=7)
    fused, peephole = twin_models("lstm_peephole", "lstm", meta, 1)
    copy_fused_into_cells(fused.body.recurrence.rnn, peephole.body.recurrence)
    cell = peephole.body.recurrence.cells[0]
    with torch.no_grad():  # Keras-style init starts peepholes at zero; give them weight
        for vector in (cell.peephole_i, cell.peephole_f, cell.peephole_o):
            vector.uniform_(-0.5, 0.5)
    h, _ = encoded_input(meta, LENGTHS)
    assert not torch.allclose(
        run_body_and_head(peephole, h, LENGTHS)[0], fused.head(fused.body(h, LENGTHS))
    )


def test_peephole_step_follows_gers_schmidhuber() -> None:
    """One step by hand: i, f see c[t-1]; o sees the new c[t]."""
    from rnnbench.models.cells import PeepholeLSTMCell

    torch.manual_seed(0)
    cell = PeepholeLSTMCell(3, 4).double()
    x, h, c = (torch.randn(2, n, dtype=torch.float64) for n in (3, 4, 4))
    a = x @ cell.weight_ih.T + cell.bias_ih + h @ cell.weight_hh.T + cell.bias_hh
    a_i, a_f, a_g, a_o = a.chunk(4, dim=-1)
    i = torch.sigmoid(a_i + cell.peephole_i * c)
    f = torch.sigmoid(a_f + cell.peephole_f * c)
    c_new = f * c + i * torch.tanh(a_g)
    h_new = torch.sigmoid(a_o + cell.peephole_o * c_new) * torch.tanh(c_new)
    got_h, got_c = cell(cell.project_input(x), (h, c))
    torch.testing.assert_close(got_c, c_new)
    torch.testing.assert_close(got_h, h_new)


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("padding", ["post", "pre"])
def test_cifg_is_an_lstm_whose_input_gate_is_one_minus_forget(layers: int, padding: str) -> None:
    """1 - sigmoid(a) = sigmoid(-a): a torch LSTM whose input-gate rows are the negated
    forget-gate rows (weights and both biases) has i = 1 - f exactly, i.e. is a CIFG."""
    meta = make_meta(length=7, padding=padding)
    fused, cifg = twin_models("lstm_cifg", "lstm", meta, layers)
    rnn, hidden = fused.body.recurrence.rnn, SMALL["hidden"]
    i_rows, fgo_rows = slice(0, hidden), slice(hidden, 4 * hidden)
    f_rows = slice(hidden, 2 * hidden)
    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    with torch.no_grad():
        for k, cell in enumerate(cifg.body.recurrence.cells):
            for name in names:
                lstm_param = getattr(rnn, f"{name}_l{k}")
                lstm_param[i_rows] = -lstm_param[f_rows]
                getattr(cell, name).copy_(lstm_param[fgo_rows])  # CIFG layout: f, g, o
    h_lstm, h_cifg = encoded_input(meta, LENGTHS)
    out_lstm, loss_lstm = run_body_and_head(fused, h_lstm, LENGTHS)
    out_cifg, loss_cifg = run_body_and_head(cifg, h_cifg, LENGTHS)
    loss_lstm.backward()
    loss_cifg.backward()
    torch.testing.assert_close(out_cifg, out_lstm, atol=1e-10, rtol=1e-10)
    torch.testing.assert_close(h_cifg.grad, h_lstm.grad, atol=1e-10, rtol=1e-10)
    # Weight gradients: the CIFG's f block is tied to both LSTM blocks (f, and i = -f),
    # so its gradient is grad_f - grad_i; the g and o blocks match one to one.
    for k, cell in enumerate(cifg.body.recurrence.cells):
        for name in names:
            lstm_grad = getattr(rnn, f"{name}_l{k}").grad
            expected = torch.cat([lstm_grad[f_rows] - lstm_grad[i_rows], lstm_grad[2 * hidden :]])
            torch.testing.assert_close(getattr(cell, name).grad, expected, atol=1e-10, rtol=1e-10)


# --- padding never leaks into recurrent outputs ---------------------------------------


@pytest.mark.parametrize("arch", RECURRENT)
@pytest.mark.parametrize("padding", ["post", "pre"])
@pytest.mark.parametrize("task", ["sentiment", "ner"])
def test_padding_content_does_not_change_outputs(arch: str, padding: str, task: str) -> None:
    meta = make_meta(task=task, padding=padding, num_classes=4 if task == "ner" else 2)
    torch.manual_seed(0)
    model = build_model(arch, meta, SMALL | {"layers": 2}).eval()
    lengths = [10, 3, 1, 7]
    clean = token_batch(meta, lengths, junk=False)
    noisy = token_batch(meta, lengths, junk=True)
    assert not torch.equal(clean, noisy)
    lengths_t = torch.tensor(lengths, dtype=torch.int32)
    with torch.no_grad():
        out_clean, out_noisy = model(clean, lengths_t), model(noisy, lengths_t)
    if task == "ner":
        mask = real_mask(lengths_t, meta.length, padding)
        out_clean, out_noisy = out_clean[mask], out_noisy[mask]
    torch.testing.assert_close(out_noisy, out_clean, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("arch", RECURRENT)
@pytest.mark.parametrize("padding", ["post", "pre"])
@pytest.mark.parametrize("task", ["sentiment", "ner"])
def test_padded_short_sequence_equals_unpadded(arch: str, padding: str, task: str) -> None:
    meta = make_meta(task=task, padding=padding, num_classes=4 if task == "ner" else 2)
    torch.manual_seed(0)
    model = build_model(arch, meta, SMALL).eval()
    tokens = torch.tensor([[5, 17, 42]])
    junk = torch.randint(1, meta.vocab_size, (1, meta.length - 3))
    padded = torch.cat([tokens, junk] if padding == "post" else [junk, tokens], dim=1)
    three = torch.tensor([3])
    with torch.no_grad():
        unpadded_out = model(tokens, three)
        padded_out = model(padded, three)
    if task == "ner":
        real = slice(0, 3) if padding == "post" else slice(meta.length - 3, None)
        padded_out = padded_out[:, real]  # the real tokens' outputs, at their input positions
    torch.testing.assert_close(padded_out, unpadded_out, atol=1e-6, rtol=1e-6)


# --- tasks and output shapes ----------------------------------------------------------

B = 3


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_output_shapes(arch: str) -> None:
    lengths = torch.tensor([10, 4, 1])
    binary, multi = make_meta(), make_meta(num_classes=5)
    ner = make_meta(task="ner", num_classes=7)
    x = token_batch(binary, lengths.tolist(), junk=False)
    assert build_model(arch, binary, SMALL)(x, lengths).shape == (B,)
    assert build_model(arch, multi, SMALL)(x, lengths).shape == (B, 5)
    if not registry.get(arch).per_token:
        with pytest.raises(ValueError, match=rf"{arch}.*ner"):
            build_model(arch, ner, SMALL)
    else:
        assert build_model(arch, ner, SMALL)(x, lengths).shape == (B, 10, 7)


@pytest.mark.parametrize("arch", ARCHITECTURES)
@pytest.mark.parametrize("embedding_dim", [None, 4])
def test_memory_task_takes_float_input(arch: str, embedding_dim: int | None) -> None:
    meta = make_meta(task="memory", padding="pre")
    model = build_model(arch, meta, SMALL | {"embedding_dim": embedding_dim})
    x = torch.randn(B, meta.length, requires_grad=True)
    out = model(x, torch.full((B,), meta.length))
    assert out.shape == (B,)
    out.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_memory_encoder_rule() -> None:
    meta = make_meta(task="memory")
    assert build_model("lstm", meta, {}).body.recurrence.rnn.input_size == 1
    assert build_model("lstm", meta, {"embedding_dim": 0}).body.recurrence.rnn.input_size == 1
    assert build_model("lstm", meta, {"embedding_dim": 8}).body.recurrence.rnn.input_size == 8


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
def test_cnn_ner_keeps_every_position_with_an_even_kernel() -> None:
    meta = make_meta(task="ner", num_classes=3)
    model = build_model("cnn", meta, SMALL | {"conv_kernel": 4})
    x = token_batch(meta, [10, 2], junk=False)
    assert model(x, torch.tensor([10, 2])).shape == (2, 10, 3)


def test_dropout_only_acts_in_training_mode() -> None:
    meta = make_meta()
    torch.manual_seed(0)
    model = build_model("lstm_cell", meta, SMALL | {"layers": 2, "dropout": 0.5})
    x, lengths = token_batch(meta, [10, 6], junk=False), torch.tensor([10, 6])
    model.eval()
    assert torch.equal(model(x, lengths), model(x, lengths))
    model.train()
    torch.manual_seed(1)
    first = model(x, lengths)
    assert not torch.equal(first, model(x, lengths))


# --- errors ---------------------------------------------------------------------------


def test_unknown_arch_is_named() -> None:
    with pytest.raises(ValueError, match=r"unknown arch 'mamba'.*lstm_cifg"):
        build_model("mamba", make_meta(), {})


def test_unknown_hparam_is_named_with_the_allowed_keys() -> None:
    with pytest.raises(ValueError, match=r"'hiden'.*allowed keys: .*hidden"):
        build_model("lstm", make_meta(), {"hiden": 32})


@pytest.mark.parametrize(
    ("hparams", "key"),
    [
        ({"hidden": 0}, "hidden"),
        ({"layers": 1.5}, "layers"),
        ({"layers": True}, "layers"),
        ({"head_hidden": -1}, "head_hidden"),
        ({"dropout": 1.0}, "dropout"),
        ({"embedding_dim": 0}, "embedding_dim"),
    ],
)
def test_bad_hparam_values_are_named(hparams: dict, key: str) -> None:
    with pytest.raises(ValueError, match=key):
        build_model("lstm", make_meta(), hparams)


def test_bad_meta_is_rejected() -> None:
    with pytest.raises(ValueError, match="padding"):
        build_model("lstm", make_meta(padding="middle"), {})
    with pytest.raises(ValueError, match="vocab_size must be 0"):
        build_model("lstm", EncodedMeta("m", "memory", 10, "post", "post", 50, 2), {})
    with pytest.raises(ValueError, match="conv_kernel"):
        build_model("cnn", make_meta(length=3), {"conv_kernel": 5})


# --- summary --------------------------------------------------------------------------


def run_summary(argv: list[str]) -> int:
    args = build_parser(["summary"]).parse_args(["summary", *argv])
    return args.func(args)


def test_summary_prints_the_seed_a_flatten_total(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--arch", "flatten", "--vocab", "10000", "--embedding-dim", "16", "--length", "120"]
    assert run_summary(argv) == 0
    out = capsys.readouterr().out
    assert "Total params: 171,533" in out
    assert "(None, 120, 16)" in out and "160,000" in out  # the embedding row


def test_summary_defaults_are_seed_a(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_summary(["--arch", "bigru", "--padding", "pre"]) == 0
    assert "Total params: 169,997" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--arch", "nope"], "unknown arch 'nope'"),
        (["--arch", "flatten", "--task", "ner"], "flatten"),
        (["--arch", "lstm", "--hidden", "0"], "hidden"),
        (["--arch", "lstm", "--task", "poetry"], "unknown task"),
    ],
)
def test_summary_errors_return_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_summary(argv) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("arch", ["flatten", "cnn", "lstm", "bigru", "lstm_cifg", "lstm_peephole"])
def test_keras_init_matches_keras_defaults(arch: str) -> None:
    meta = make_meta(length=12)
    torch.manual_seed(0)
    model = build_model(arch, meta, {"init": "keras"})
    embedding = model.encoder.weight
    assert embedding.abs().max() <= 0.05 and embedding[0].abs().sum() == 0  # <pad> row zero
    for name, param in model.named_parameters():
        if "bias" in name and "bias_ih" not in name:
            assert param.abs().sum() == 0, f"{name} should start at zero"
    if arch in ("lstm", "lstm_cifg", "lstm_peephole"):
        rec = model.body.recurrence
        hidden = 32
        bias = rec.rnn.bias_ih_l0 if arch == "lstm" else rec.cells[0].bias_ih
        forget = 0 if arch == "lstm_cifg" else 1
        assert torch.all(bias[forget * hidden : (forget + 1) * hidden] == 1.0)  # unit_forget_bias
        assert bias.sum() == hidden


def test_torch_init_keeps_pytorch_defaults_and_unknown_init_is_rejected() -> None:
    meta = make_meta(length=12)
    model = build_model("flatten", meta, {"init": "torch"})
    assert model.encoder.weight.abs().max() > 0.5  # N(0, 1) embeddings
    with pytest.raises(ValueError, match="'init' must be one of keras, torch"):
        build_model("flatten", meta, {"init": "glorot"})


def test_execution_paths_record_the_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    """layer_paths says what each recurrent layer runs on, as build_model planned it for
    the device (metrics.json's hardware.exec_path / exec_layers / exec_plan)."""
    from rnnbench.models import bodies, native, step_compile

    meta = make_meta()

    def paths(arch: str, device: str = "cpu", **hp: object) -> list[str]:
        return bodies.layer_paths(build_model(arch, meta, {**SMALL, **hp}, device))

    onednn = torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled
    torch_lstm = "torch module (oneDNN)" if onednn else "torch module"
    monkeypatch.setattr(native, "available", lambda: True)
    assert paths("gru", layers=2) == ["compiled kernels"] * 2
    assert paths("lstm_peephole") == ["compiled kernels"]  # the LSTM kernel
    assert paths("rnn_cell") == ["Python loops"]  # textbook cells stay loops
    assert paths("lstm", layers=3) == ["compiled kernels"] * 3  # deep stacks
    assert paths("bilstm") == ["compiled kernels"]
    assert paths("lstm") == ["compiled kernels"]  # oneDNN's LSTM is slow on uneven rows
    model = build_model("gru", meta, {**SMALL, "layers": 2})
    assert [plan.path for plan in bodies.layer_plans(model)] == ["compiled", "compiled"]
    monkeypatch.setattr(native, "available", lambda: False)
    assert paths("gru", layers=2) == ["Python loops"] * 2  # the reference loop
    assert paths("lstm_peephole") == ["Python loops"]
    assert paths("bilstm") == [torch_lstm]  # no compiled kernels: torch's LSTM
    assert bodies.execution_path(build_model("lstm", meta, SMALL)) == torch_lstm
    assert bodies.layer_paths(build_model("cnn", meta, SMALL)) == []
    assert bodies.execution_path(build_model("cnn", meta, SMALL)) == "no recurrent layer"
    # minGRU/minLSTM: their parallel scan, one label per layer; a Transformer has no recurrence.
    assert paths("bimingru", layers=2) == ["parallel scan (torch ops)"] * 2
    assert bodies.execution_path(build_model("transformer", meta, SMALL)) == "no recurrent layer"
    # On a GPU the fused modules are torch's (cuDNN where available) over the padded batch
    # (models/padded.py), the cells their loop with each step compiled (with Triton).
    monkeypatch.setattr(torch.backends.cudnn, "is_available", lambda: True)
    assert paths("gru", "cuda") == ["cuDNN, unpacked"]
    monkeypatch.setattr(step_compile, "triton_installed", lambda: True)
    assert paths("lstm_peephole", "cuda") == ["Python loops, torch.compile step"]
    monkeypatch.setattr(step_compile, "triton_installed", lambda: False)
    assert paths("lstm_peephole", "cuda") == ["Python loops"]
    monkeypatch.setattr(torch.backends.cudnn, "enabled", False)
    assert paths("gru", "cuda") == ["torch module, unpacked"]
