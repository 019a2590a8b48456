"""The two benchmark shapes, from the seed experiments; one table for both sides.

Standard library only: bench/keras_side.py imports it from the Keras venv, which has
neither torch nor rnnbench.
"""

from __future__ import annotations

from dataclasses import dataclass

RECURRENT = ("rnn", "lstm", "gru", "birnn", "bilstm", "bigru")


@dataclass(frozen=True)
class Shape:
    """One benchmark shape: the data, the model widths, and default timing sizes."""

    name: str
    archs: tuple[str, ...]  # the ones both rnnbench and Keras build
    vocab: int
    length: int
    batch: int
    embedding_dim: int
    hidden: int
    layers: int
    head_hidden: int  # 0: the logit layer reads the body directly (seed C)
    # A seed-C batch takes seconds, so it gets fewer timed batches.
    warmup: int
    windows: int
    batches: int


SHAPES: dict[str, Shape] = {
    "seed-a": Shape(
        name="seed-a",
        archs=("flatten", "cnn", *RECURRENT),
        vocab=10_000,
        length=120,
        batch=128,
        embedding_dim=16,
        hidden=32,
        layers=1,
        head_hidden=6,
        warmup=3,
        windows=7,
        batches=5,
    ),
    "seed-c": Shape(
        name="seed-c",
        archs=("rnn", "lstm", "gru"),
        vocab=20_000,
        length=200,
        batch=1000,
        embedding_dim=64,
        hidden=8,
        layers=25,
        head_hidden=0,
        warmup=1,
        windows=3,
        batches=1,
    ),
}
