"""A Keras ``model.summary()``-like table, as ``rnnbench summary`` prints it.

The table lists the leaf layers in the order the data flows through them, with output
shape and parameter count, then the totals. It is how a preset is checked against a
published model: ``rnnbench summary --arch flatten`` must say "Total params: 171,533".
"""

from __future__ import annotations

import os
import sys
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence

from rnnbench.cost import cell_cost, human_bytes
from rnnbench.data.arrays import EncodedMeta
from rnnbench.models.build import build_model
from rnnbench.models.cells import Cell


def _describe(output: Any) -> str:
    """Output shape with the batch dim as None, as Keras prints it."""
    if isinstance(output, PackedSequence):  # a namedtuple, so test it before tuple
        # Rows of different lengths are stored flat; show the padded equivalent.
        return f"packed (None, {len(output.batch_sizes)}, {output.data.shape[-1]})"
    if isinstance(output, tuple | list):  # (output, state) or (h, c): the first matters
        return _describe(output[0])
    if isinstance(output, Tensor):
        return "(" + ", ".join(["None", *map(str, output.shape[1:])]) + ")"
    return "?"


def _shown(module: nn.Module) -> bool:
    # Keras folds the activation into its Dense row and has no Identity layers; a
    # zero-rate Dropout does nothing, so only layers that do something get a row.
    if isinstance(module, nn.ReLU | nn.Identity):
        return False
    return not (isinstance(module, nn.Dropout) and module.p == 0)


def _own_params(module: nn.Module) -> bool:
    return any(True for _ in module.parameters(recurse=False))


def _example_input(meta: EncodedMeta, batch: int = 2) -> tuple[Tensor, Tensor]:
    lengths = torch.full((batch,), meta.length, dtype=torch.long)
    if meta.vocab_size == 0:
        channels = () if meta.input_channels == 1 else (meta.input_channels,)
        return torch.zeros(batch, meta.length, *channels), lengths
    return torch.ones(batch, meta.length, dtype=torch.long), lengths  # id 1 = <unk>


def format_summary(model: nn.Module, meta: EncodedMeta) -> str:
    """Run one dummy batch through ``model`` and tabulate its leaf layers."""
    # Leaf layers, and layers holding parameters of their own beside their children (an
    # attention's input projection, a learned position table): those count only their own.
    leaves = {
        name: module
        for name, module in model.named_modules()
        if (not list(module.children()) or _own_params(module)) and _shown(module)
    }
    shapes: dict[str, str] = {}  # filled in call order, so rows follow the data flow

    def record(name: str):
        def hook(module: nn.Module, inputs: Any, output: Any) -> None:
            # A cell runs once per time step and its output is one step's h.
            suffix = " per step" if isinstance(module, Cell) else ""
            shapes[name] = _describe(output) + suffix

        return hook

    handles = [module.register_forward_hook(record(name)) for name, module in leaves.items()]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(*_example_input(meta))
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()

    order = list(shapes) + [name for name in leaves if name not in shapes]
    rows = [("Layer (type)", "Output Shape", "Param #")]
    for name in order:
        module = leaves[name]
        if list(module.children()):
            count = sum(p.numel() for p in module.parameters(recurse=False))
        else:
            count = sum(p.numel() for p in module.parameters())
        if name not in shapes and count == 0:
            continue  # never ran and holds nothing (e.g. dropout between a single layer)
        rows.append((f"{name} ({type(module).__name__})", shapes.get(name, "-"), f"{count:,}"))

    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    widths = [max(len(row[i]) for row in rows) + 3 for i in range(3)]
    rule = "=" * sum(widths)

    def line(row: tuple[str, str, str]) -> str:
        return " " + "".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))

    arch = getattr(model, "arch", type(model).__name__)
    lines = [
        f'Model: "{arch}" (task {meta.task}, length {meta.length}, vocab {meta.vocab_size:,},'
        f" {meta.num_classes} classes, padding {meta.padding})",
        "_" * sum(widths),
        line(rows[0]),
        rule,
        *(line(row) for row in rows[1:]),
        rule,
        f"Total params: {total:,}",
        f"Trainable params: {trainable:,}",
        f"Non-trainable params: {total - trainable:,}",
    ]
    return "\n".join(text.rstrip() for text in lines)


def print_summary(
    arch: str, meta: EncodedMeta, hparams: dict[str, Any], *, optimizer: str, batch_size: int
) -> int:
    """Print the model's layer table and its training memory estimate (``rnnbench
    summary``); 0 on success, 2 (with a message on stderr) on bad input."""
    try:
        cost = cell_cost(
            arch,
            hparams,
            task=meta.task,
            length=meta.length,
            vocab_size=meta.vocab_size,
            num_classes=meta.num_classes,
            optimizer=optimizer,
            batch_size=batch_size,
        )
        estimate = (
            f"Training memory estimate (batch {batch_size}, optimizer {optimizer}): "
            f"{cost.describe()}"
        )
        if cost.weights > physical_memory():
            print(estimate)
            print(
                f"rnnbench summary: error: the weights alone ({human_bytes(cost.weights)}) "
                f"exceed this machine's memory ({human_bytes(physical_memory())}); not built",
                file=sys.stderr,
            )
            return 2
        table = format_summary(build_model(arch, meta, hparams), meta)
    except (ValueError, KeyError) as error:
        print(f"rnnbench summary: error: {error}", file=sys.stderr)
        return 2
    print(table)
    print(estimate)
    return 0


def physical_memory() -> int:
    """This machine's memory in bytes (os.sysconf; unknown: no limit)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 2**62
