"""rnnbench.cost: exact parameter counts without torch, and a memory estimate that grows
as it must (weights, optimizer state, activations at the cell's batch and length)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from rnnbench import registry
from rnnbench.cost import OPTIMIZER_STATES, RUNTIME_BYTES, cell_cost, human_bytes

CASES = [
    ("sentiment", 50, 1000, 2, {}),
    ("sentiment", 50, 1000, 2, {"hidden": 12, "layers": 2, "head_hidden": 0}),
    ("sentiment", 20, 500, 5, {"embedding_dim": 8, "dropout": 0.1}),
    ("ner", 30, 800, 9, {"hidden": 10, "layers": 3, "head_hidden": 4}),
    ("memory", 40, 0, 2, {"hidden": 8}),
    ("memory", 40, 0, 2, {"hidden": 8, "embedding_dim": 6, "layers": 2}),
]


def _torch_params(arch: str, task: str, length: int, vocab: int, classes: int, hp: dict) -> int:
    from rnnbench.data.arrays import EncodedMeta
    from rnnbench.models.build import build_model

    labels = [str(i) for i in range(classes)]
    meta = EncodedMeta("d", task, length, "post", "post", vocab, classes, labels)
    return sum(p.numel() for p in build_model(arch, meta, hp).parameters())


@pytest.mark.parametrize("arch", registry.names())
@pytest.mark.parametrize(("task", "length", "vocab", "classes", "hparams"), CASES)
def test_the_parameter_count_is_that_of_the_built_model(
    arch: str, task: str, length: int, vocab: int, classes: int, hparams: dict
) -> None:
    entry = registry.get(arch)
    if task == "ner" and not entry.per_token:
        pytest.skip(f"{arch} cannot tag tokens")
    if arch == "transformer":
        hparams = {**hparams, "heads": 2, "hidden": hparams.get("hidden", 32) // 2 * 2}
    cost = cell_cost(
        arch,
        hparams,
        task=task,
        length=length,
        vocab_size=vocab,
        num_classes=classes,
        optimizer="adam",
        batch_size=4,
    )
    assert cost.params == _torch_params(arch, task, length, vocab, classes, hparams)


@pytest.mark.parametrize("positions", ["learned", "sinusoidal"])
@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_transformer_variants_count_exactly(positions: str, pooling: str) -> None:
    hp = {"hidden": 8, "heads": 2, "ff_hidden": 12, "positions": positions, "pooling": pooling}
    cost = cell_cost(
        "transformer",
        hp,
        task="sentiment",
        length=10,
        vocab_size=100,
        num_classes=2,
        optimizer="adam",
        batch_size=2,
    )
    assert cost.params == _torch_params("transformer", "sentiment", 10, 100, 2, hp)


def _lstm(**changes: object) -> object:
    kwargs = {
        "task": "sentiment",
        "length": 100,
        "vocab_size": 10_000,
        "num_classes": 2,
        "optimizer": "adam",
        "batch_size": 32,
    }
    hparams = changes.pop("hparams", {"hidden": 64})
    return cell_cost("lstm", hparams, **{**kwargs, **changes})


def test_the_estimate_holds_weights_gradients_optimizer_state_and_activations() -> None:
    cost = _lstm()
    assert cost.weights == cost.gradients == 4 * cost.params
    assert cost.optimizer_state == 2 * cost.weights  # Adam: two moments
    assert _lstm(optimizer="sgd").optimizer_state == 0
    assert _lstm(optimizer="rmsprop").optimizer_state == OPTIMIZER_STATES["rmsprop"] * cost.weights
    assert _lstm(batch_size=64).activations == 2 * cost.activations
    assert _lstm(length=200).activations > 1.9 * cost.activations
    assert cost.total == (
        cost.weights + cost.gradients + cost.optimizer_state + cost.activations + RUNTIME_BYTES
    )


def test_the_issue_s_impossible_model_is_about_160_gb_of_weights() -> None:
    cost = _lstm(hparams={"hidden": 100_000})
    assert 150e9 < cost.weights < 170e9
    assert "params, ~" in cost.describe() and "GB" in cost.describe()


def test_human_bytes() -> None:
    assert human_bytes(512) == "512 B"
    assert human_bytes(3 * 2**30) == "3.0 GB"
    assert human_bytes(5 * 2**50) == "5120.0 TB"


def test_the_estimator_imports_no_torch() -> None:
    code = "import sys, rnnbench.cost; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def _summary(argv: list[str]) -> int:
    from rnnbench.cli import build_parser

    args = build_parser(["summary"]).parse_args(["summary", *argv])
    return args.func(args)


def test_rnnbench_summary_prints_the_estimate(capsys: pytest.CaptureFixture[str]) -> None:
    assert _summary(["--arch", "flatten", "--batch-size", "64", "--optimizer", "sgd"]) == 0
    out = capsys.readouterr().out
    assert "Total params: 171,533" in out
    assert "Training memory estimate (batch 64, optimizer sgd): 171,533 params, ~" in out
    assert "optimizer state 0 B" in out


def test_rnnbench_summary_refuses_to_build_a_model_bigger_than_the_machine(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _summary(["--arch", "lstm", "--hidden", "100000"]) == 2
    captured = capsys.readouterr()
    assert "40,007,960,013 params" in captured.out
    assert "exceed this machine's memory" in captured.err and "not built" in captured.err


def test_dataset_shape_reads_the_prepared_vocabulary_else_the_config(tmp_path) -> None:
    from rnnbench.cost import ASSUMED_TAGS, ASSUMED_VOCAB, dataset_shape

    text = {"task": "sentiment", "vocab": {"max_size": 10_000}}
    assert dataset_shape("imdb", text, tmp_path) == {
        "vocab_size": 10_000,
        "num_classes": 2,
        "input_channels": 1,
    }
    ner = {"task": "ner", "vocab": {"max_size": None}}
    assert dataset_shape("gmb", ner, tmp_path)["vocab_size"] == ASSUMED_VOCAB
    assert dataset_shape("gmb", ner, tmp_path)["num_classes"] == ASSUMED_TAGS
    (tmp_path / "gmb").mkdir()
    (tmp_path / "gmb" / "vocab.json").write_text(
        '{"tokens": ["<pad>", "<unk>", "a", "b"], "label_names": ["O", "B-x", "I-x"]}'
    )
    assert dataset_shape("gmb", ner, tmp_path)["vocab_size"] == 4
    assert dataset_shape("gmb", ner, tmp_path)["num_classes"] == 3
    memory = {"task": "memory", "synthetic": {"marker": True}}
    assert dataset_shape("m", memory, tmp_path) == {
        "vocab_size": 0,
        "num_classes": 2,
        "input_channels": 2,
    }


def test_over_budget_names_each_cell_over_the_limit_once() -> None:
    from rnnbench.cost import over_budget

    def cell(hidden: int) -> dict:
        return {
            "arch": "lstm",
            "model_hparams": {"hidden": hidden},
            "task": "sentiment",
            "length": 100,
            "vocab_size": 1000,
            "num_classes": 2,
            "optimizer": "adam",
            "batch_size": 32,
        }

    cells = [("small", cell(8)), ("huge", cell(100_000)), ("huge seed 1", cell(100_000))]
    problems = over_budget(cells, 3000 * 2**20, "the train job's mem_mb 3000")
    assert len(problems) == 2 and problems[0].startswith("huge: 40,00")
    assert "over the train job's mem_mb 3000 (2.9 GB)" in problems[0]
    assert over_budget(cells[:1], 3000 * 2**20, "x") == []
