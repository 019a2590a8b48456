"""The training job: one loop for every task, architecture and optimizer.

``run_training`` reads an encoded ``.npz``, trains with early stopping on the validation
headline metric, and writes into ``out_dir``:

- ``metrics.json``: the result (schema in :func:`_metrics`); written last, so its
  presence means the job finished (status "ok" or "diverged");
- ``history.csv``: one row per epoch, rewritten at every epoch end;
- ``model.pt``: the best-validation weights (see checkpoint.save_model);
- ``checkpoint.pt``: full resume state, rewritten atomically at every epoch end and
  deleted once metrics.json is written (it holds model, optimizer moments and the best
  weights, ~4x the model, and nothing in it is needed after the run).

Reproducibility: the model is initialised from ``torch.manual_seed(seed)``, the batch
order of each epoch comes from (seed, epoch) alone, and the global torch RNG (dropout)
is saved in every checkpoint, so on CPU with the same thread count a run - resumed or
not - gives identical numbers. On CUDA, cuDNN kernels may not be bit-reproducible.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from rnnbench.data.arrays import (
    IGNORE_INDEX,
    EncodedMeta,
    Split,
    TrainSizeError,
    load_encoded,
    train_size_rows,
)
from rnnbench.experiment.paths import CHECKPOINT_FILE, HISTORY_FILE, METRICS_FILE, MODEL_FILE
from rnnbench.experiment.spec import SpecError, TrainingSpec, resolve_spec
from rnnbench.experiment.tasks import task_of
from rnnbench.metrics import (
    compute_metrics,
    examples_note,
    headline_metric,
    is_binary,
    label_counts,
    majority_label,
    majority_score,
)
from rnnbench.models import DEFAULT_HPARAMS, RECURRENT, bodies, build_model, native
from rnnbench.optimizers import build_optimizer, describe_optimizer
from rnnbench.train import report
from rnnbench.train.batches import SplitTensors, batches, epoch_batches, subsample, to_tensors
from rnnbench.train.checkpoint import (
    CHECKPOINT_FORMAT,
    file_sha256,
    load_checkpoint,
    save_model,
    save_torch,
)
from rnnbench.train.cpu import configure_cpu

log = logging.getLogger("rnnbench.train")

SCHEMA_VERSION = 1
PROGRESS_EVERY_S = 60.0
# Batches between reads of the running training loss on the host (see _train_epoch): on a
# GPU each read waits for the queue to drain; on a CPU it costs nothing either way.
SYNC_EVERY = 32

EpochCallback = Callable[[int, nn.Module, dict[str, Any]], None]


@dataclass
class Progress:
    """Everything that must survive a kill: saved in checkpoint.pt after every epoch."""

    epoch: int = 0  # last completed epoch
    initial_loss: float = math.nan
    best_epoch: int | None = None
    best_value: float = -math.inf
    best_state: dict[str, torch.Tensor] | None = None
    bad_epochs: int = 0  # epochs since the last improvement
    history: list[dict[str, Any]] = field(default_factory=list)
    train_seconds: float = 0.0
    train_samples: int = 0


@dataclass
class Task:
    """How to score and to compute the loss for the dataset at hand."""

    meta: EncodedMeta
    binary: bool
    headline: str
    criterion: nn.Module

    @classmethod
    def from_meta(cls, meta: EncodedMeta) -> Task:
        binary = is_binary(meta.task, meta.num_classes)
        criterion: nn.Module = (
            nn.BCEWithLogitsLoss() if binary else nn.CrossEntropyLoss(ignore_index=IGNORE_INDEX)
        )
        return cls(meta, binary, headline_metric(meta.task), criterion)

    @property
    def tags_tokens(self) -> bool:
        return task_of(self.meta.task).tags_tokens

    def units(self, y: torch.Tensor) -> torch.Tensor | int:
        """What the mean loss is averaged over: examples, or real tokens for NER (counted
        on y's device, a 0-d tensor, so that counting needs no host sync)."""
        return (y != IGNORE_INDEX).sum() if self.tags_tokens else int(y.shape[0])


def _to_host(total: torch.Tensor, units: torch.Tensor | int) -> tuple[float, int]:
    """The running (loss sum, units) read back to the host: the one place where the
    training and evaluation loops wait for the device (tests count the calls)."""
    if isinstance(units, torch.Tensor):
        both = torch.stack([total, units.to(total.dtype)]).tolist()
        return both[0], int(both[1])
    return float(total), units


def batch_loss(task: Task, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean loss of one batch, in float32 even under autocast."""
    logits = logits.float()
    if task.binary:
        return task.criterion(logits.reshape(-1), y.float())
    if logits.dim() == 3:  # NER: [B, L, C] against [B, L]
        return task.criterion(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
    return task.criterion(logits, y)


def run_training(
    data_path: str | Path,
    out_dir: str | Path,
    spec: dict[str, Any],
    threads: int = 1,
    *,
    on_epoch_end: EpochCallback | None = None,
    extra_metrics: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train ``spec`` on the encoded data at ``data_path``; return the metrics written.

    ``on_epoch_end(epoch, model, record)`` runs after each epoch's checkpoint is saved
    (tests use it to simulate a kill); ``extra_metrics`` are further top-level entries of
    metrics.json (e.g. ``lr_tuning``). Raises SpecError (a ValueError) for a bad spec.
    Three steps: :func:`_set_up` (spec, data, model, optimizer, a checkpoint to resume),
    :func:`_train_epochs` (the epoch loop, checkpointed at every epoch end) and
    :func:`_finish` (test score of the best weights, model.pt, metrics.json).
    """
    started = time.perf_counter()
    run = _set_up(data_path, out_dir, spec, threads)
    diverged_epoch = _train_epochs(run, on_epoch_end)
    return _finish(run, diverged_epoch, extra_metrics, started)


@dataclass
class _Run:
    """One training job's state between its steps."""

    resolved: TrainingSpec
    data_path: str | Path
    out: Path
    threads: int
    device: torch.device
    amp_dtype: torch.dtype | None
    meta: EncodedMeta
    splits: dict[str, Split]
    task: Task
    tensors: dict[str, SplitTensors]
    model: nn.Module
    initial_state: dict[str, torch.Tensor]
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    hparams: dict[str, Any]
    fingerprint: dict[str, Any]
    progress: Progress
    resumed_from: int | None
    params: int

    @property
    def hp(self) -> dict[str, Any]:
        return self.resolved.training

    @property
    def ckpt_path(self) -> Path:
        return self.out / CHECKPOINT_FILE

    def autocast(self) -> torch.autocast:
        return torch.autocast(
            device_type=self.device.type,
            dtype=self.amp_dtype,
            enabled=self.amp_dtype is not None,
        )


def _set_up(data_path: str | Path, out_dir: str | Path, spec: dict[str, Any], threads: int) -> _Run:
    """Resolve the spec, load the data, build model and optimizer, and restore a killed
    run's checkpoint (or measure the initial loss of a fresh one)."""
    resolved = resolve_spec(spec)
    if threads < 1:
        raise SpecError(f"threads must be >= 1, got {threads}")
    configure_cpu(threads)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    hp = resolved.training
    device = _device(hp["device"])
    amp_dtype = resolve_amp(hp["amp"], device)
    configure_tf32(device, hp["tf32"])

    meta, splits = _load_data(data_path, resolved)
    task = Task.from_meta(meta)
    tensors = {name: to_tensors(split, device) for name, split in splits.items()}

    torch.manual_seed(resolved.seed)
    # Each recurrent layer's path is planned here, for this device, and only here.
    model = _build_model(resolved.arch, meta, resolved.model, device).to(device)
    initial_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    optimizer = build_optimizer(
        resolved.optimizer,
        model.parameters(),
        {key: hp[key] for key in ("lr", "weight_decay", "momentum")},
    )
    # bf16 has fp32's exponent range, so only fp16 needs loss scaling.
    scaler = torch.amp.GradScaler(device.type, enabled=amp_dtype == torch.float16)
    hparams = _recorded_hparams(resolved, device, amp_dtype)
    fingerprint = {
        "spec": resolved.identity(),
        "hparams": hparams,
        "data_sha256": file_sha256(data_path),
    }

    ckpt_path = out / CHECKPOINT_FILE
    progress = Progress()
    saved = load_checkpoint(ckpt_path, fingerprint)
    resumed_from = None
    if saved is not None:
        progress = _restore(saved, model, optimizer, scaler, device, threads)
        resumed_from = progress.epoch
        log.info("resuming from %s after epoch %d", ckpt_path, progress.epoch)
    else:
        model.eval()
        progress.initial_loss, _ = _predict(
            model, task, tensors["train"], hp["batch_size"], keep_logits=False
        )
    run = _Run(
        resolved=resolved,
        data_path=data_path,
        out=out,
        threads=threads,
        device=device,
        amp_dtype=amp_dtype,
        meta=meta,
        splits=splits,
        task=task,
        tensors=tensors,
        model=model,
        initial_state=initial_state,
        optimizer=optimizer,
        scaler=scaler,
        hparams=hparams,
        fingerprint=fingerprint,
        progress=progress,
        resumed_from=resumed_from,
        params=sum(p.numel() for p in model.parameters() if p.requires_grad),
    )
    _log_setup(run)
    return run


def _log_setup(run: _Run) -> None:
    resolved, model = run.resolved, run.model
    exec_plan = [str(plan.path) for plan in bodies.layer_plans(model)]
    if resolved.arch in RECURRENT and run.device.type == "cpu":
        log.info("compiled recurrent kernels: %s", native.describe())
    if exec_plan:
        log.info(
            "execution plan, bottom layer first: %s (%s)",
            ", ".join(exec_plan),
            bodies.execution_path(model),
        )
    log.info(
        "%s %s %s len=%d seed=%d: %d params, %d/%d/%d examples, device %s, %d threads",
        resolved.dataset,
        resolved.arch,
        resolved.optimizer,
        resolved.length,
        resolved.seed,
        run.params,
        *(len(run.tensors[name]) for name in ("train", "validation", "test")),
        run.device,
        run.threads,
    )
    if run.amp_dtype is not None:
        log.info("mixed precision: autocast to %s", AMP_NAMES[run.amp_dtype])


def _train_epochs(run: _Run, on_epoch_end: EpochCallback | None) -> int | None:
    """The epochs left to train (all, or those after a resumed checkpoint), each saved to
    checkpoint.pt and history.csv; the epoch that diverged, or None."""
    hp, task, model, progress = run.hp, run.task, run.model, run.progress
    columns = _history_columns(task)
    for epoch in range(progress.epoch + 1, hp["epochs"] + 1):
        if _stopped_early(progress, hp["patience"]):
            break
        tick = time.perf_counter()
        train_loss = _train_epoch(
            model,
            task,
            run.tensors["train"],
            run.optimizer,
            run.scaler,
            hp,
            run.resolved.seed,
            epoch,
            run.autocast,
        )
        train_seconds = time.perf_counter() - tick
        if train_loss is None:
            log.warning("epoch %d: non-finite training loss; stopping (diverged)", epoch)
            return epoch
        model.eval()
        val_loss, val_logits = _predict(model, task, run.tensors["validation"], hp["batch_size"])
        if not math.isfinite(val_loss):
            log.warning("epoch %d: non-finite validation loss; stopping (diverged)", epoch)
            return epoch
        validation = {
            "loss": val_loss,
            **_score(run.meta, run.splits["validation"], val_logits),
        }
        record = _record(epoch, train_loss, validation, task, time.perf_counter() - tick)
        progress.train_seconds += train_seconds
        progress.train_samples += len(run.tensors["train"])
        _update_best(progress, model, epoch, validation[task.headline])
        progress.history.append(record)
        progress.epoch = epoch
        _log_epoch(record, hp["epochs"], task, progress)
        checkpoint = _checkpoint(
            progress, model, run.optimizer, run.scaler, run.fingerprint, run.threads
        )
        save_torch(run.ckpt_path, checkpoint)
        report.write_history(run.out / HISTORY_FILE, progress.history, columns)
        if on_epoch_end is not None:
            on_epoch_end(epoch, model, record)
    return None


def _finish(
    run: _Run,
    diverged_epoch: int | None,
    extra_metrics: dict[str, Any] | None,
    started: float,
) -> dict[str, Any]:
    """Score the best-validation weights on test (never the last ones), write model.pt,
    history.csv and metrics.json (last: it means done), and drop the checkpoint."""
    resolved, hp, task, model, progress = run.resolved, run.hp, run.task, run.model, run.progress
    test = None
    if progress.best_state is not None:
        model.load_state_dict(progress.best_state)
        model.eval()
        test_loss, test_logits = _predict(model, task, run.tensors["test"], hp["batch_size"])
        test = {
            "loss": test_loss,
            **_score(run.meta, run.splits["test"], test_logits),
        }
    save_model(
        run.out / MODEL_FILE,
        progress.best_state if progress.best_state is not None else run.initial_state,
        arch=resolved.arch,
        meta=run.meta,
        model_hparams={k: v for k, v in run.hparams.items() if k not in resolved.training},
        epoch=progress.best_epoch or 0,
    )
    report.write_history(run.out / HISTORY_FILE, progress.history, _history_columns(task))
    metrics = _metrics(
        resolved=resolved,
        hparams=run.hparams,
        task=task,
        splits=run.splits,
        progress=progress,
        params=run.params,
        test=test,
        diverged_epoch=diverged_epoch,
        stopped_early=_stopped_early(progress, hp["patience"])
        and len(progress.history) < hp["epochs"],
        resumed_from=run.resumed_from,
        device=run.device,
        provenance={
            "exec_layers": bodies.layer_paths(model),
            "exec_path": bodies.execution_path(model),
            "exec_plan": [str(plan.path) for plan in bodies.layer_plans(model)],
            "exec_batches": bodies.batch_shares(model),
            "amp_dtype": run.amp_dtype,
        },
        data_path=run.data_path,
        data_sha256=run.fingerprint["data_sha256"],
        total_seconds=time.perf_counter() - started,
    )
    metrics["optimizer"] = describe_optimizer(resolved.optimizer, run.optimizer)
    metrics.update(extra_metrics or {})
    report.write_metrics(run.out / METRICS_FILE, metrics)
    run.ckpt_path.unlink(missing_ok=True)
    log.info(
        "done: status %s, best epoch %s, test %s %s",
        metrics["status"],
        metrics["best_epoch"],
        task.headline,
        None if test is None else _fmt(test[task.headline]),
    )
    return report.json_safe(metrics)


AMP_DTYPES: dict[str, torch.dtype] = {"bf16": torch.bfloat16, "fp16": torch.float16}
AMP_NAMES: dict[torch.dtype, str] = {dtype: name for name, dtype in AMP_DTYPES.items()}


def resolve_amp(requested: bool | str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype of hparams.amp on ``device``, None for none.

    "bf16" / "fp16" autocast on any device (CPU autocast has both); true is the historical
    switch: bf16 on a GPU (fp16 on one without bf16) and nothing on a CPU. A GPU without
    bf16 asked for "bf16" is an error rather than a silent change of dtype.
    """
    if requested is False:
        return None
    if requested is True:
        if device.type != "cuda":
            return None
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    dtype = AMP_DTYPES[str(requested)]
    if dtype == torch.bfloat16 and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise SpecError("hparams.amp is 'bf16' but this GPU has no bfloat16; use 'fp16'")
    return dtype


def configure_tf32(device: torch.device, enabled: bool) -> None:
    """hparams.tf32 on a GPU: TF32 for float32 matmuls and cuDNN (convolutions, RNNs), both
    on or both off. Off by default, for float32 numbers comparable across machines (torch's
    own defaults differ: matmul off, cuDNN on). Set per process, before the model runs; no
    effect on a CPU, where nothing is changed."""
    if device.type != "cuda":
        return
    torch.backends.cuda.matmul.allow_tf32 = enabled
    torch.backends.cudnn.allow_tf32 = enabled


def _device(requested: str) -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise SpecError("hparams.device is 'cuda' but no CUDA device is available")
    return torch.device(requested)


def _load_data(path: str | Path, resolved: TrainingSpec) -> tuple[EncodedMeta, dict[str, Split]]:
    """The encoded splits, subsampled as the spec asks."""
    dataset = load_encoded(path)
    meta = dataset.meta
    # A spec run on another dataset's file would record wrong results under its name.
    if meta.dataset != resolved.dataset or meta.length != resolved.length:
        raise SpecError(
            f"spec is for dataset {resolved.dataset!r} at length {resolved.length}, but "
            f"{path} holds {meta.dataset!r} at length {meta.length}"
        )
    hp, seed = resolved.training, resolved.seed
    train = dataset.splits["train"]
    # grid.train_sizes: the same nested, stratified rows for every run seed
    try:
        sized = train_size_rows(train.y, resolved.train_size, dataset=resolved.dataset)
    except TrainSizeError as err:
        raise SpecError(str(err)) from None
    if sized is not None:
        train = train.rows(sized)
    splits = {
        "train": subsample(train, hp["train_subsample"], seed, train=True),
        "validation": subsample(
            dataset.splits["validation"], hp["eval_subsample"], seed, train=False
        ),
        "test": subsample(dataset.splits["test"], hp["eval_subsample"], seed, train=False),
    }
    return meta, splits


def _score(meta: EncodedMeta, split: Split, logits: np.ndarray) -> dict[str, Any]:
    """Every metric of the split; NER whole sentences (full gold tags, cut-off tokens
    predicted "O"), see metrics.ner_metrics."""
    return compute_metrics(
        meta.task,
        split.y,
        logits,
        meta.label_names,
        full_tags=split.full_tags,
        truncating=meta.truncating,
    )


def _majority_baseline(
    meta: EncodedMeta, splits: dict[str, Split], hp: dict[str, Any], seed: int
) -> dict[str, Any]:
    """The majority class (NER: tag) of the training rows the model saw, scored on the
    evaluation rows the model is scored on: the same examples, and the same numbers, as
    the ``majority`` baseline of analysis.baselines (which draws the same subsamples)."""
    names = list(meta.label_names)
    majority = majority_label(splits["train"].y)
    extra: dict[str, Any] = {}
    tags_tokens = task_of(meta.task).tags_tokens
    if tags_tokens:
        extra = {"label_names": names, "truncating": meta.truncating}
    scores = {
        name: majority_score(
            splits[name].y,
            majority,
            full_tags=splits[name].full_tags if tags_tokens else None,
            **extra,
        )
        for name in ("validation", "test")
    }
    return {
        "metric": "token_accuracy" if tags_tokens else "accuracy",
        "label": names[majority] if majority < len(names) else majority,
        **scores,
        "examples": {name: len(split) for name, split in splits.items()},
        "evaluated_on": examples_note("test", len(splits["test"]), hp["eval_subsample"], [seed]),
    }


def _build_model(
    arch: str, meta: EncodedMeta, model_hparams: dict[str, Any], device: torch.device
) -> nn.Module:
    try:
        return build_model(arch, meta, model_hparams, device)
    except (ValueError, KeyError) as err:
        raise SpecError(f"cannot build arch {arch!r}: {err}") from err


def _recorded_hparams(
    resolved: TrainingSpec, device: torch.device, amp_dtype: torch.dtype | None
) -> dict[str, Any]:
    """Every hparam as actually used, flat like the spec's: model keys with the zoo's
    defaults filled in, then the training keys (``amp`` the autocast dtype that ran, "bf16"
    or "fp16", or false; ``tf32`` false on a CPU, where it does not apply)."""
    given = {k: v for k, v in resolved.model.items() if v is not None}
    training = dict(resolved.training)
    training["device"] = device.type
    training["amp"] = AMP_NAMES[amp_dtype] if amp_dtype is not None else False
    training["tf32"] = bool(training["tf32"]) and device.type == "cuda"
    return {**DEFAULT_HPARAMS, **given, **training}


def _train_epoch(
    model: nn.Module,
    task: Task,
    data: SplitTensors,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    hp: dict[str, Any],
    seed: int,
    epoch: int,
    autocast: Callable[[], torch.autocast],
) -> float | None:
    """One pass over the training data: its mean loss, or None if a loss was non-finite.

    The losses are summed on the device (float64: on a CPU the same sum, bit for bit, as
    adding up ``loss.item()`` in Python) and read back only every SYNC_EVERY batches, for
    a progress line and at the end, so a GPU is never stalled by a per-batch sync. A
    non-finite loss is therefore noticed up to SYNC_EVERY - 1 batches late, still within
    this epoch (the sum stays non-finite: losses are >= 0, so no inf - inf cancels it).
    That is safe: returning None makes run_training stop the run as diverged *before*
    anything of this epoch is kept: no _update_best (best_state is a copy taken at an
    earlier epoch's end), no history row, no checkpoint, no on_epoch_end; the test score
    and model.pt come from best_state (or the initial weights). The steps taken after the
    non-finite loss only spoil the live weights, which are discarded.
    """
    model.train()
    total = torch.zeros((), dtype=torch.float64, device=data.x.device)
    units: torch.Tensor | int = 0
    order, sizes = epoch_batches(data.lengths, hp["batch_size"], seed, epoch, hp["batching"])
    last_log = time.perf_counter()
    for step, (x, lengths, y) in enumerate(batches(data, hp["batch_size"], order, sizes), start=1):
        optimizer.zero_grad(set_to_none=True)
        with autocast():
            loss = batch_loss(task, model(x, lengths), y)
        n = task.units(y)
        total += loss.detach().double() * n
        units += n
        scaler.scale(loss).backward()
        if hp["clip_norm"]:
            scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(model.parameters(), hp["clip_norm"])
        try:
            scaler.step(optimizer)
        except RuntimeError as err:
            # Adam & co. at an absurd learning rate overflow inside the update itself
            # ("value cannot be converted to type float without overflow"): the same
            # divergence as a non-finite loss, one step earlier. Any other error after a
            # non-finite loss that was not read back yet is that divergence too.
            if "overflow" not in str(err) and math.isfinite(_to_host(total, units)[0]):
                raise
            log.warning("optimizer step failed: %s (diverged)", err)
            return None
        scaler.update()
        # Long CPU epochs (LSTM on IMDB) would leave the log silent for minutes.
        due = time.perf_counter() - last_log >= PROGRESS_EVERY_S
        if step % SYNC_EVERY and not due:
            continue
        loss_sum, count = _to_host(total, units)
        if not math.isfinite(loss_sum):
            return None
        if due:
            last_log = time.perf_counter()
            log.info(
                "epoch %d: batch %d/%d, train_loss so far %.4f",
                epoch,
                step,
                len(sizes),
                loss_sum / count,
            )
    loss_sum, count = _to_host(total, units)
    return loss_sum / max(count, 1) if math.isfinite(loss_sum) else None


@torch.no_grad()
def _predict(
    model: nn.Module, task: Task, data: SplitTensors, batch_size: int, *, keep_logits: bool = True
) -> tuple[float, np.ndarray | None]:
    """(mean loss, logits as float32 numpy) over ``data``, in row order; model in eval mode.
    Loss sum and logits stay on the device until the end: one host sync per call."""
    total = torch.zeros((), dtype=torch.float64, device=data.x.device)
    units: torch.Tensor | int = 0
    outputs = []
    for x, lengths, y in batches(data, batch_size):
        logits = model(x, lengths)
        n = task.units(y)
        total += batch_loss(task, logits, y).double() * n
        units += n
        if keep_logits:
            outputs.append(logits.float())
    loss_sum, count = _to_host(total, units)
    return loss_sum / max(count, 1), torch.cat(outputs).cpu().numpy() if keep_logits else None


def _stopped_early(progress: Progress, patience: int | None) -> bool:
    return patience is not None and progress.bad_epochs >= patience


def _update_best(progress: Progress, model: nn.Module, epoch: int, value: Any) -> None:
    # A NaN headline (e.g. entity F1 with no entities anywhere) never counts as better.
    score = float(value) if value is not None and math.isfinite(float(value)) else -math.inf
    if progress.best_epoch is None or score > progress.best_value:
        progress.best_epoch, progress.best_value, progress.bad_epochs = epoch, score, 0
        progress.best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    else:
        progress.bad_epochs += 1


def _scalar_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metrics.items() if not isinstance(v, dict)}


def _record(
    epoch: int, train_loss: float, validation: dict[str, Any], task: Task, seconds: float
) -> dict[str, Any]:
    scalars = _scalar_metrics(validation)
    record: dict[str, Any] = {
        "epoch": epoch,
        "train_loss": train_loss,
        "val_loss": scalars.pop("loss"),
        f"val_{task.headline}": scalars.pop(task.headline),
    }
    record.update({f"val_{k}": v for k, v in scalars.items()})
    record["seconds"] = seconds
    record["validation"] = validation  # full dict (NER per type); not a CSV column
    return record


def _history_columns(task: Task) -> list[str]:
    return task_of(task.meta.task).history_columns()


def _fmt(value: Any) -> str:
    return "nan" if value is None or not math.isfinite(float(value)) else f"{float(value):.4f}"


def _log_epoch(record: dict[str, Any], epochs: int, task: Task, progress: Progress) -> None:
    shown = [k for k in _history_columns(task) if k not in ("epoch", "seconds")]
    log.info(
        "epoch %d/%d %s %.2fs%s",
        record["epoch"],
        epochs,
        " ".join(f"{k} {_fmt(record[k])}" for k in shown),
        record["seconds"],
        " *best*" if progress.best_epoch == record["epoch"] else "",
    )


def _checkpoint(
    progress: Progress,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    fingerprint: dict[str, Any],
    threads: int,
) -> dict[str, Any]:
    return {
        "format": CHECKPOINT_FORMAT,
        "fingerprint": fingerprint,
        "threads": threads,
        "progress": {k: v for k, v in vars(progress).items() if k != "best_state"},
        "best_state": progress.best_state,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scaler": scaler.state_dict(),
        "rng_cpu": torch.get_rng_state(),
        "rng_cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
    }


def _restore(
    saved: dict[str, Any],
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    device: torch.device,
    threads: int,
) -> Progress:
    if saved["threads"] != threads:
        log.warning(
            "checkpoint was written with %d threads, now %d: results may differ in the last bits",
            saved["threads"],
            threads,
        )
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    scaler.load_state_dict(saved["scaler"])
    torch.set_rng_state(saved["rng_cpu"])
    if device.type == "cuda" and saved["rng_cuda"] is not None:
        torch.cuda.set_rng_state_all(saved["rng_cuda"])
    return Progress(**saved["progress"], best_state=saved["best_state"])


def _metrics(
    *,
    resolved: TrainingSpec,
    hparams: dict[str, Any],
    task: Task,
    splits: dict[str, Any],
    progress: Progress,
    params: int,
    test: dict[str, Any] | None,
    diverged_epoch: int | None,
    stopped_early: bool,
    resumed_from: int | None,
    device: torch.device,
    provenance: dict[str, Any],
    data_path: str | Path,
    data_sha256: str,
    total_seconds: float,
) -> dict[str, Any]:
    history = progress.history
    best = next((r for r in history if r["epoch"] == progress.best_epoch), None)
    meta = task.meta
    names = list(meta.label_names)
    seconds = [r["seconds"] for r in history]
    peak_gpu = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    return {
        "schema_version": SCHEMA_VERSION,
        "status": "diverged" if diverged_epoch is not None else "ok",
        "spec": resolved.identity(),
        "task": meta.task,
        "headline_metric": task.headline,
        "hparams": hparams,
        "params": params,
        "epochs_run": len(history),
        "best_epoch": progress.best_epoch,
        "stopped_early": stopped_early,
        "diverged_epoch": diverged_epoch,
        "initial_loss": progress.initial_loss,
        "final_train_loss": history[-1]["train_loss"] if history else None,
        "validation": None if best is None else best["validation"],
        "test": test,
        # memory task: where the sign sits, so the analysis can say how far each
        # direction of a model carries it (a bidirectional model reads it from either end)
        **({"signal_index": meta.signal_index} if meta.signal_index is not None else {}),
        "majority_baseline": _majority_baseline(meta, splits, resolved.training, resolved.seed),
        "train_label_counts": label_counts(splits["train"].y, names),
        "examples": {name: len(split) for name, split in splits.items()},
        "data": {"path": str(data_path), "sha256": data_sha256},
        "seconds_per_epoch": float(np.mean(seconds)) if seconds else None,
        "samples_per_second": (
            progress.train_samples / progress.train_seconds if progress.train_seconds else None
        ),
        "total_seconds": total_seconds,
        "peak_rss_mb": report.peak_rss_mb(),
        "peak_gpu_mb": peak_gpu,
        "resumed_from_epoch": resumed_from,
        "hardware": report.hardware(device, **provenance),
        "versions": report.versions(device),
    }
