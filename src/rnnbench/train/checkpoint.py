"""checkpoint.pt (resume state, rewritten every epoch) and model.pt (the kept weights).

Both are written through :func:`rnnbench.io.atomic_path`, so a job killed mid-save
leaves the previous complete file, never a truncated one. Both hold only tensors and
plain Python values, so they load with ``weights_only=True``.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import torch
from torch import nn

from rnnbench.data.arrays import EncodedMeta
from rnnbench.io import atomic_path

log = logging.getLogger("rnnbench.train")

CHECKPOINT_FORMAT = 1


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_torch(path: str | Path, obj: dict[str, Any]) -> None:
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def load_checkpoint(path: Path, fingerprint: dict[str, Any]) -> dict[str, Any] | None:
    """The checkpoint at ``path`` if it belongs to this exact run, else None.

    A checkpoint left by a different spec or different data (the config changed between
    the killed job and its rerun) must not be resumed: it would mix two experiments.
    """
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # an unreadable file is just a lost head start
        log.warning("ignoring unreadable checkpoint %s (%s); starting afresh", path, err)
        return None
    if state.get("format") != CHECKPOINT_FORMAT or state.get("fingerprint") != fingerprint:
        log.warning("ignoring checkpoint %s: it belongs to another spec or data file", path)
        return None
    return state


def save_model(
    path: str | Path,
    state_dict: dict[str, torch.Tensor],
    *,
    arch: str,
    meta: EncodedMeta,
    model_hparams: dict[str, Any],
    epoch: int,
) -> None:
    """Weights plus what :func:`load_model` needs to rebuild the module."""
    save_torch(
        path,
        {
            "state_dict": {k: v.detach().cpu() for k, v in state_dict.items()},
            "arch": arch,
            "meta": {
                "dataset": meta.dataset,
                "task": meta.task,
                "length": meta.length,
                "padding": meta.padding,
                "truncating": meta.truncating,
                "vocab_size": meta.vocab_size,
                "num_classes": meta.num_classes,
                "label_names": list(meta.label_names),
                "input_channels": meta.input_channels,
                "signal_index": meta.signal_index,
            },
            "model_hparams": dict(model_hparams),
            "epoch": epoch,  # 0: untrained weights (the run diverged in its first epoch)
        },
    )


def load_model(path: str | Path) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the model saved in ``model.pt``; returns (model in eval mode, the saved dict)."""
    from rnnbench.models import build_model

    saved = torch.load(path, map_location="cpu", weights_only=True)
    model = build_model(saved["arch"], EncodedMeta(**saved["meta"]), saved["model_hparams"])
    model.load_state_dict(saved["state_dict"])
    model.eval()
    return model, saved
