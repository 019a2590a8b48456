"""The data stage, one function per Snakemake rule: read inputs, write outputs atomically.

Each function takes the dataset's config section (already validated, defaults filled)
and explicit paths, so it runs the same from a rule, the CLI or a test.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np

from rnnbench.data.arrays import SPLITS, EncodedMeta, save_encoded
from rnnbench.data.datacard import (
    DEFAULT_MAX_TEST_LEAKAGE,
    cross_split_duplicates,
    leakage_text,
    memory_split_card,
    test_leakage,
    text_split_card,
    unseen_tag_types,
    unseen_tags_text,
)
from rnnbench.data.encode import encode_split
from rnnbench.data.readers import excerpt, read_lines, read_source
from rnnbench.data.splitting import (
    carve_validation,
    check_splits,
    fold_split,
    split_by_fractions,
)
from rnnbench.data.synthetic import generate_memory_split, input_channels
from rnnbench.data.tokenize import normalize, token_mapper, tokenize_texts
from rnnbench.data.vocab import Vocab, build_vocab
from rnnbench.errors import ConfigError, DataError
from rnnbench.experiment.grid import folds_of
from rnnbench.experiment.sources import check_array_budget, signal_index, source_parts
from rnnbench.experiment.tasks import task_of
from rnnbench.io import read_jsonl, write_json_atomic, write_jsonl_atomic

log = logging.getLogger("rnnbench.data")


def read_sources(ds: dict, sources: dict[str, str]) -> dict[str, list[dict]] | list[dict]:
    """The records of the fetched source(s): per split (``{split: records}``) when the
    sources give splits, else one list (a corpus without a split). Format lines reads one
    file per class (source keys ``<split>.<label>``, see config.dataset_sources), classes
    in label order whatever the config's order."""
    fmt, options = ds["format"], ds.get("options", {})
    per_source = ds.get("split_options") or {}
    if fmt == "lines":
        grouped: dict[str, list[dict]] = {}
        for key in sorted(sources):
            split, label = source_parts(key)
            if label is None:
                raise DataError(f"format lines: source {key!r} names no class (<split>.<label>)")
            records = read_lines(sources[key], per_source.get(key, options), label)
            grouped.setdefault(split, []).extend(records)
        return grouped.get("all", grouped)
    if "all" in sources:
        return read_source(fmt, sources["all"], options)
    return {
        key: read_source(fmt, path, per_source.get(key, options)) for key, path in sources.items()
    }


def split_dataset(
    name: str, ds: dict, sources: dict[str, str], out_dir: str | Path, fold: int | None = None
) -> None:
    """Read the fetched source(s) and write ``<out_dir>/{train,validation,test}.jsonl``;
    with ``fold``, those of that cross-validation fold (``split.folds``)."""
    split_cfg = ds["split"]
    # one label per example: keep its class balance in every split (tags are per token)
    stratify = not task_of(ds["task"]).tags_tokens
    data = read_sources(ds, sources)
    folds = folds_of(ds)
    if fold is not None:
        if folds is None or isinstance(data, dict):
            raise ConfigError(
                f"dataset {name!r}: fold {fold} asked for, but the dataset is not "
                "cross-validated (`split.folds` on a corpus without a test split)"
            )
        splits = fold_split(data, folds, fold, split_cfg["seed"], stratify)
        log.info(
            "fold %d of %d: %d test, %d train+validation of %d records (stratified=%s)",
            fold,
            folds,
            len(splits["test"]),
            len(splits["train"]),
            len(data),
            stratify,
        )
    elif isinstance(data, dict):  # the source has official train/test splits
        splits = dict(data)
    else:
        splits = split_by_fractions(data, split_cfg["fractions"], split_cfg["seed"])
        log.info("split %d records by fractions %s", len(data), split_cfg["fractions"])
    if "validation" not in splits:
        fraction = split_cfg["validation_fraction"]
        splits["train"], splits["validation"] = carve_validation(
            splits["train"], fraction, split_cfg["seed"], stratify
        )
        log.info("carved %.0f%% of train as validation (stratified=%s)", 100 * fraction, stratify)
        hint = f" (split.validation_fraction {fraction} of {len(splits['train'])} train examples)"
    else:
        hint = ""
    check_splits(name, splits, hint)
    if not task_of(ds["task"]).tags_tokens:
        check_label_spellings(name, splits, sources)
    for split in SPLITS:
        count = write_jsonl_atomic(Path(out_dir) / f"{split}.jsonl", splits[split])
        log.info("%s: %d examples", split, count)


def check_label_spellings(
    name: str, splits: dict[str, list[dict]], sources: dict[str, str]
) -> None:
    """Refuse a validation/test label that train never has: mostly the same class spelled
    differently in another file (``0``/``0.0``, ``pos``/``positive``), which would otherwise
    become a class of its own that no model can predict."""
    train_labels = {r["label"] for r in splits["train"]}
    for split in ("validation", "test"):
        unseen = sorted({r["label"] for r in splits[split]} - train_labels)
        if unseen:
            source = sources.get(split) or sources.get("all") or "the source"
            count = sum(r["label"] in unseen for r in splits[split])
            raise DataError(
                f"dataset {name!r}: {source}: the {split} split has label(s) "
                f"{', '.join(excerpt(u) for u in unseen[:5])} ({count} examples) that train "
                f"({sources.get('train') or sources.get('all')}) never has; train's labels are "
                f"{sorted(train_labels)[:10]}. If they are the same classes spelled differently, "
                "map every spelling to one with `options: {label_map: {...}}`"
            )


def lowercase_for(ds: dict) -> bool:
    lowercase = ds["text"]["lowercase"]
    return task_of(ds["task"]).lowercase if lowercase is None else lowercase


def tokenize_split(ds: dict, in_path: str | Path, out_path: str | Path) -> None:
    """Tokenize one split's texts (NER corpora keep their tokens); drop, and log, empty ones."""
    started = time.perf_counter()
    records = read_jsonl(in_path)
    text_cfg = ds["text"]
    lowercase = lowercase_for(ds)
    if task_of(ds["task"]).tags_tokens:  # tags align with the corpus's own tokens
        keep = token_mapper(lowercase)
        out = [{"tokens": keep(r["tokens"]), "tags": r["tags"]} for r in records]
    else:
        texts = (normalize(r["text"], lowercase, text_cfg["strip_html"]) for r in records)
        token_lists = tokenize_texts(texts, text_cfg["tokenizer"])
        out = [
            {"tokens": tokens, "label": r["label"]}
            for r, tokens in zip(records, token_lists, strict=True)
        ]
    kept = [r for r in out if r["tokens"]]
    if len(kept) < len(out):
        log.warning(
            "%s: dropped %d example(s) with no tokens after tokenization",
            in_path,
            len(out) - len(kept),
        )
    write_jsonl_atomic(out_path, kept)
    log.info(
        "%s: %d examples, %d tokens, %.1f s",
        in_path,
        len(kept),
        sum(len(r["tokens"]) for r in kept),
        time.perf_counter() - started,
    )


def build_vocab_file(ds: dict, token_paths: dict[str, str], out_path: str | Path) -> None:
    """Token vocabulary from train only; the label (tag) set from every split.

    The label set is the output space, not a learned feature, so taking it from all splits
    leaks nothing and keeps a test label that train happens to lack representable.
    """
    train = read_jsonl(token_paths["train"])
    key = "tags" if task_of(ds["task"]).tags_tokens else "label"
    labels: set[str] = set()
    for split, path in token_paths.items():
        records = train if split == "train" else read_jsonl(path)
        for r in records:
            labels.update(r[key] if key == "tags" else [r[key]])
    # "O" first for NER so tag id 0 is the majority "outside" tag, as in most taggers.
    label_names = sorted(labels, key=lambda t: (t != "O", t))
    vocab = build_vocab((r["tokens"] for r in train), label_names, **ds["vocab"])
    vocab.save(out_path)
    log.info(
        "vocabulary: %d ids (max_size=%s, min_freq=%s); labels: %s",
        len(vocab),
        ds["vocab"]["max_size"],
        ds["vocab"]["min_freq"],
        label_names,
    )


def encode_dataset(
    name: str,
    ds: dict,
    token_paths: dict[str, str],
    vocab_path: str | Path,
    length: int,
    out_path: str | Path,
    memory_budget_gib: float = 8.0,
) -> None:
    vocab = Vocab.load(vocab_path)
    records = {split: read_jsonl(token_paths[split]) for split in SPLITS}
    # int32 token ids, plus int64 tag ids per position for NER
    per_position = 4 + (8 if task_of(ds["task"]).tags_tokens else 0)
    examples = sum(len(r) for r in records.values())
    try:
        check_array_budget(
            f"datasets.{name}.grid.lengths", examples, length, per_position, memory_budget_gib
        )
    except ConfigError as err:
        raise DataError(str(err)) from None
    splits = {
        split: encode_split(records[split], vocab, length, ds["padding"], ds["truncating"])
        for split in SPLITS
    }
    meta = EncodedMeta(
        dataset=name,
        task=ds["task"],
        length=length,
        padding=ds["padding"],
        truncating=ds["truncating"],
        vocab_size=len(vocab),
        num_classes=len(vocab.label_names),
        label_names=vocab.label_names,
    )
    save_encoded(out_path, meta, splits)
    for split, arrays in splits.items():
        truncated = int(np.sum(arrays.lengths == length))
        log.info("%s: %s, %d rows filled to length %d", split, arrays.x.shape, truncated, length)


def synthesize_memory(name: str, ds: dict, length: int, out_path: str | Path) -> None:
    cfg = ds["synthetic"]
    index = signal_index(cfg["signal_position"], length)
    splits = {
        split: generate_memory_split(
            cfg["samples"][split], length, index, cfg["seed"], split, marker=bool(cfg.get("marker"))
        )
        for split in SPLITS
    }
    meta = EncodedMeta(
        dataset=name,
        task="memory",
        length=length,
        padding="post",
        truncating="post",
        vocab_size=0,
        num_classes=2,
        label_names=["-1", "+1"],
        input_channels=input_channels(cfg),
        signal_index=index,
    )
    save_encoded(out_path, meta, splits)
    log.info(
        "memory task: length %d, signal at index %d, samples %s", length, index, cfg["samples"]
    )


def _count_lines(path: str | Path) -> int:
    with open(path, "rb") as handle:
        return sum(1 for line in handle if line.strip())


# What the data card says of the vocabulary and of grid.train_sizes (docs/grid.md).
VOCABULARY_SOURCE = (
    "the whole training split only (no validation or test text). A grid.train_sizes cell "
    "trains on a part of that split and shares this vocabulary: every size reads the same "
    "token ids, so sizes differ in the examples they learn from and in nothing else; words "
    "seen only in the rows a small size leaves out keep an untrained embedding"
)
TRAINING_SUBSETS = (
    "grid.train_sizes: each size is the first n rows of one seeded order of the training "
    "split (data.arrays.train_order, stratified by label where each example has one), so "
    "every smaller training set is a subset of every larger one and the same for every "
    "run seed; validation and test are the same for every size"
)


def write_text_datacard(
    name: str,
    ds: dict,
    split_paths: dict[str, str],
    token_paths: dict[str, str],
    vocab_path: str | Path,
    out_path: str | Path,
    fold: int | None = None,
) -> None:
    """The data card; of a cross-validated dataset, that of fold ``fold``'s splits."""
    vocab = Vocab.load(vocab_path)
    splits = {split: read_jsonl(token_paths[split]) for split in SPLITS}
    check_splits(name, splits)
    raw = {s: read_jsonl(split_paths[s]) for s in SPLITS}
    duplicates = cross_split_duplicates(raw)
    for pair, count in duplicates.items():
        if count:
            first, second = pair.split("_", 1)
            log.warning(
                "%s: %d %s example(s) have exactly the text of a %s example (leakage: the "
                "%s score is inflated); deduplicate the source",
                name,
                count,
                second,
                first,
                second,
            )
    checks = ds.get("checks") or {}
    leakage = test_leakage(raw, checks.get("max_test_leakage", DEFAULT_MAX_TEST_LEAKAGE))
    if leakage["flagged"]:
        log.warning(
            "dataset %r: LEAKAGE: %s; every run of it is flagged `leakage` and never ranked. "
            "Deduplicate the source (or raise checks.max_test_leakage)",
            name,
            leakage_text(leakage),
        )
    unseen = unseen_tag_types(splits) if task_of(ds["task"]).tags_tokens else {}
    if unseen:
        message = (
            f"dataset {name!r}: entity type(s) that train never has, so a model can only miss "
            f"them: {unseen_tags_text(unseen)}"
        )
        if checks.get("unseen_tags") == "error":
            raise DataError(
                f"{message}; re-split the corpus so train holds every type, or drop those "
                "types (checks.unseen_tags: error; `warn` reports them instead)"
            )
        log.warning("%s (checks.unseen_tags: error makes this an error)", message)
    card = {
        "dataset": name,
        "task": ds["task"],
        "format": ds["format"],
        "source": ds.get("url") or ds.get("splits") or ds.get("classes"),
        "tokenizer": "given" if task_of(ds["task"]).tags_tokens else ds["text"]["tokenizer"],
        "lowercase": lowercase_for(ds),
        "vocab_size": len(vocab),
        "num_labels": len(vocab.label_names),
        "labels": vocab.label_names,
        "duplicates_across_splits": duplicates,
        "leakage": leakage,
        "unseen_tag_types": unseen,
        "vocabulary_source": VOCABULARY_SOURCE,
        "training_subsets": TRAINING_SUBSETS,
        "splits": {
            split: text_split_card(
                splits[split], vocab, _count_lines(split_paths[split]) - len(splits[split])
            )
            for split in SPLITS
        },
    }
    if fold is not None:
        # The splits above are one fold's; the others differ only in which part is test.
        card["cross_validation"] = {"folds": folds_of(ds), "splits_of_fold": fold}
    write_json_atomic(out_path, card)
    log.info("data card: %s", json.dumps({s: c["examples"] for s, c in card["splits"].items()}))


def write_memory_datacard(
    name: str, ds: dict, encoded: dict[int, str], out_path: str | Path
) -> None:
    from rnnbench.data.arrays import load_encoded

    by_length = {}
    for length, path in sorted(encoded.items()):
        data = load_encoded(path)
        splits = {split: data.splits[split] for split in SPLITS}
        for split, arrays in splits.items():
            if len(np.unique(arrays.y)) < 2:
                raise DataError(
                    f"dataset {name!r}: the {split} split at length {length} is single-class"
                )
        by_length[str(length)] = {
            "signal_index": signal_index(ds["synthetic"]["signal_position"], length),
            "splits": {split: memory_split_card(a.y, length) for split, a in splits.items()},
        }
    card = {
        "dataset": name,
        "task": "memory",
        "format": "synthetic",
        "vocab_size": 0,
        "num_labels": 2,
        "labels": ["-1", "+1"],
        "synthetic": ds["synthetic"],
        "training_subsets": TRAINING_SUBSETS,
        "splits": by_length[min(by_length, key=int)]["splits"],
        "lengths": by_length,
    }
    write_json_atomic(out_path, card)
