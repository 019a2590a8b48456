"""Baselines on exactly the examples the models see, scored with the same metrics.

- ``majority``: always predict the most frequent training class (NER: tag). For NER its
  entity F1 is 0 (it predicts no entity); its token accuracy is what an inflated
  accuracy such as seed E's must beat.
- ``bow-logreg`` (sentiment): bag of words + logistic regression, as in the lecture
  slides (``CountVectorizer`` + ``LogisticRegression``; ``TfidfVectorizer`` on request),
  no vocabulary cap (the slides' setting). Per sequence length it reads exactly the
  tokens a model of that length sees: the first (``truncating: post``) or last
  (``pre``) ``length`` tokens of each tokenized document, data.encode's cut. Fit on the
  training rows only; the evaluation rows are scored.
- ``bow-logreg (whole documents)`` (sentiment): the same on whole documents, read
  beyond the models' length: it answers "what does the rest of a review add?", not
  "does a model beat a bag of words?". Labelled as such wherever it is shown.
- ``most-frequent-tag`` (NER): each training word's most frequent tag; words unseen in
  train get "O". Like a model of that length it sees the first ``length`` tokens of a
  sentence (``truncating``), and is scored on whole sentences, every cut-off token
  predicted "O" (metrics.ner_metrics' convention). Its output is not repaired into
  valid IOB2: the headline ``entity_f1`` (conlleval) reads a stray ``I-`` as an entity,
  ``strict_entity_f1`` (strict IOB2) does not.

Which examples. The models of a dataset train on ``train_subsample`` rows and are scored
on ``eval_subsample`` rows, drawn per run seed by ``data.arrays.subsample_rows``. The
baselines draw the very same rows with the same function: one *group* per distinct
(length, train_subsample, eval_subsample) among the dataset's grid cells (length only
where it matters: NER and memory; :func:`subsample_groups`), and within a group one fit
per run seed, fit on that seed's training rows and scored on its evaluation rows. A
group's score is the mean over its seeds (per seed under ``by_seed``); with one seed, or
no subsample (every seed then sees every row, and the baseline is computed once), it is
exactly the ``majority_baseline`` in each run's metrics.json and runs.csv. Each group
says which examples it was computed on (``evaluated_on``, e.g. "test, 1,000-example
evaluation subsample (seed 0)"). Without groups the baselines use the whole splits.

Metric names are those of metrics.json (``accuracy``, ``f1``, ``auc``,
``token_accuracy``, ``entity_f1``, ...), so a baseline lines up with a run's
``test_<metric>`` columns. The memory task has the majority baseline only: its inputs
are noise except for one position, and a constant is what "not learning" scores.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rnnbench.analysis.collect import AnalysisError
from rnnbench.data.arrays import subsample_rows, train_size_rows
from rnnbench.io import json_safe, read_jsonl, write_json_atomic
from rnnbench.metrics import (
    HEADLINE,
    OUTSIDE_TAG,
    cut_predictions,
    examples_note,
    keep_tokens,
    majority_label,
    majority_score,
    sentiment_metrics,
    tag_sequence_metrics,
)

log = logging.getLogger("rnnbench.analysis")

EVAL_SPLITS: tuple[str, ...] = ("validation", "test")
VECTORIZERS: tuple[str, ...] = ("count", "tfidf")
MAJORITY, BOW, MOST_FREQUENT_TAG = "majority", "bow-logreg", "most-frequent-tag"
BOW_WHOLE = "bow-logreg (whole documents)"
LOGREG_MAX_ITER = 1000


def _identity(tokens: list[str]) -> list[str]:
    """The vectorizer's analyzer: the splits are tokenized already (same tokens as the
    models), so sklearn must not re-tokenize or lowercase them."""
    return tokens


def _read_split(tokens_dir: str | Path, split: str) -> list[dict]:
    path = Path(tokens_dir) / f"{split}.jsonl"
    try:
        return read_jsonl(path)
    except FileNotFoundError:
        raise AnalysisError(f"{path}: tokenized split not found") from None
    except (OSError, ValueError) as err:
        raise AnalysisError(f"{path}: cannot read tokenized split: {err}") from None


def _label_names(vocab_path: str | Path) -> list[str]:
    path = Path(vocab_path)
    try:
        with open(path, encoding="utf-8") as handle:
            names = json.load(handle)["label_names"]
    except FileNotFoundError:
        raise AnalysisError(f"{path}: vocabulary not found") from None
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise AnalysisError(f"{path}: cannot read label_names from vocabulary: {err}") from None
    return list(names)


# --- which examples ------------------------------------------------------------------

SUBSAMPLE_KEYS: tuple[str, ...] = ("train_subsample", "eval_subsample")
TRAIN_SIZE = "train_size"  # grid.train_sizes: the cell's training set (data.arrays)
# Tasks whose baselines depend on the sequence length (the cut of NER and sentiment,
# memory's files).
LENGTH_TASKS: frozenset[str] = frozenset({"ner", "memory", "sentiment"})


def subsample_groups(task: str, cells: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The baseline groups of a dataset's grid cells.

    ``cells`` are ``{"length", "seed", "hparams"}`` (a cell's spec, with ``train_size``
    under grid.train_sizes; missing subsample keys mean none). One group per distinct
    (length, train_size, train_subsample, eval_subsample), each with the sorted seeds of
    its cells; ``train_size`` only in the groups of cells that have one. Groups are in
    first-seen order.
    """
    groups: dict[tuple, dict[str, Any]] = {}
    for cell in cells:
        hparams = cell.get("hparams") or {}
        length = int(cell["length"]) if task in LENGTH_TASKS else None
        size = cell.get(TRAIN_SIZE)
        key = (length, size, *(hparams.get(k) for k in SUBSAMPLE_KEYS))
        group = groups.setdefault(
            key,
            {
                "length": length,
                **({TRAIN_SIZE: int(size)} if size is not None else {}),
                **{k: hparams.get(k) for k in SUBSAMPLE_KEYS},
                "seeds": [],
            },
        )
        if int(cell["seed"]) not in group["seeds"]:
            group["seeds"].append(int(cell["seed"]))
    for group in groups.values():
        group["seeds"].sort()
    return list(groups.values())


def _normalise_groups(groups: Sequence[dict[str, Any]] | None) -> list[dict[str, Any]]:
    if not groups:
        return [{"length": None, "train_subsample": None, "eval_subsample": None, "seeds": []}]
    out = []
    for g in groups:
        out.append(
            {
                "length": None if g.get("length") is None else int(g["length"]),
                TRAIN_SIZE: None if g.get(TRAIN_SIZE) is None else int(g[TRAIN_SIZE]),
                **{k: g.get(k) for k in SUBSAMPLE_KEYS},
                "seeds": sorted({int(seed) for seed in g.get("seeds") or []}),
            }
        )
    return out


def _rows(total: int, n: int | None, seed: int | None, *, train: bool) -> np.ndarray | None:
    return None if seed is None else subsample_rows(total, n, seed, train=train)


def _pick(items: Sequence[Any], rows: np.ndarray | None) -> list[Any]:
    return list(items) if rows is None else [items[i] for i in rows.tolist()]


def _seed_runs(
    group: dict[str, Any], sizes: dict[str, int], train_labels: np.ndarray | None = None
) -> list[tuple[list[int], dict]]:
    """``[(seeds, {split: row indices or None})]``: the distinct row sets of a group's
    seeds (seeds that draw no subsample share one entry). A group's ``train_size`` takes
    the models' training set first (data.arrays.train_size_rows on ``train_labels``, one
    label per row; None: per-token tags, a plain seeded permutation), then its subsample
    is drawn within it, as the training job does."""
    labels = np.zeros((sizes["train"], 1)) if train_labels is None else train_labels
    sized = train_size_rows(labels, group.get(TRAIN_SIZE), dataset=str(group.get("dataset", "")))
    runs: dict[tuple, tuple[list[int], dict]] = {}
    for seed in group["seeds"] or [None]:
        rows = {
            split: _rows(
                sizes[split] if split != "train" or sized is None else len(sized),
                group["train_subsample" if split == "train" else "eval_subsample"],
                seed,
                train=split == "train",
            )
            for split in ("train", *EVAL_SPLITS)
        }
        if sized is not None:
            rows["train"] = sized if rows["train"] is None else sized[rows["train"]]
        key = tuple(None if r is None else tuple(r.tolist()) for r in rows.values())
        runs.setdefault(key, ([], rows))[0].append(seed)
    return list(runs.values())


def _mean(values: list[Any]) -> Any:
    """Element-wise mean of metric dicts (nested per-type dicts included)."""
    first = values[0]
    if isinstance(first, dict):
        return {k: _mean([v[k] for v in values if k in v]) for k in first}
    if isinstance(first, bool) or not isinstance(first, int | float | np.number):
        return first
    numbers = [float(v) for v in values]
    # Equal values (seeds that share their rows) give exactly that value, bit for bit,
    # so the figure is the one each run's metrics.json records.
    mean = numbers[0] if all(v == numbers[0] for v in numbers) else float(np.mean(numbers))
    return round(mean) if isinstance(first, int | np.integer) else mean


def _combine(per_seed: list[tuple[list[int], dict[str, Any]]]) -> dict[str, Any]:
    """One group's baselines from each distinct row set's: the mean over seeds, each
    seed's scores under ``by_seed`` when they differ."""
    combined: dict[str, Any] = {}
    for name in per_seed[0][1]:
        entries = [(seeds, result[name]) for seeds, result in per_seed]
        skipped = [e for _, e in entries if "skipped" in e]
        if skipped:
            combined[name] = skipped[0]
            continue
        entry = {k: v for k, v in entries[0][1].items() if k not in EVAL_SPLITS}
        for split in EVAL_SPLITS:
            # weighted by seeds: a row set shared by k seeds counts k times
            weighted = [e[split] for seeds, e in entries for _ in seeds]
            entry[split] = _mean(weighted)
        if len(entries) > 1:
            entry["by_seed"] = {
                str(seed): {split: e[split] for split in EVAL_SPLITS}
                for seeds, e in entries
                for seed in seeds
            }
        combined[name] = entry
    return combined


def _group_record(
    group: dict[str, Any], sizes: dict[str, int], baselines: dict[str, Any]
) -> dict[str, Any]:
    available = {**sizes, "train": group.get(TRAIN_SIZE) or sizes["train"]}
    examples = {
        split: min(
            available[split],
            group["train_subsample" if split == "train" else "eval_subsample"] or available[split],
        )
        for split in ("train", *EVAL_SPLITS)
    }
    trained_on = examples_note("train", examples["train"], group["train_subsample"], group["seeds"])
    if group.get(TRAIN_SIZE) is not None:
        trained_on += f" of the {group[TRAIN_SIZE]:,}-example training set (grid.train_sizes)"
    kept = {k: v for k, v in group.items() if k != TRAIN_SIZE or v is not None}
    return {
        **kept,
        "examples": examples,
        "trained_on": trained_on,
        "evaluated_on": examples_note(
            "test", examples["test"], group["eval_subsample"], group["seeds"]
        ),
        "baselines": baselines,
    }


# --- sentiment -------------------------------------------------------------------------


def _label_ids(records: list[dict], index: dict[str, int], split: str) -> np.ndarray:
    try:
        return np.array([index[str(r["label"])] for r in records], dtype=np.int64)
    except KeyError as err:
        raise AnalysisError(
            f"{split}: label {err} is not in the vocabulary's label_names"
        ) from None


def _constant_logits(label: int, n: int, num_classes: int) -> np.ndarray:
    """Logits that predict ``label`` for every row, shaped as the models' (1-D if binary)."""
    if num_classes == 2:
        return np.full(n, 1.0 if label == 1 else -1.0)
    logits = np.zeros((n, num_classes))
    logits[:, label] = 1.0
    return logits


def _full_logits(scores: np.ndarray, classes: np.ndarray, num_classes: int) -> np.ndarray:
    """Multi-class decision scores with a column per label (absent classes never win)."""
    out = np.full((scores.shape[0], num_classes), -1e9)
    out[:, classes] = scores
    return out


def _bow_fit(
    train_docs: list[list[str]],
    y_train: np.ndarray,
    eval_docs: dict[str, list[list[str]]],
    y: dict[str, np.ndarray],
    num_classes: int,
    *,
    vectorizer: str,
    max_features: int | None,
    C: float,
) -> dict[str, Any]:
    """Bag of words + logistic regression: fit on ``train_docs`` / ``y_train`` (the
    training rows, never an evaluation row), score each of ``eval_docs``."""
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    started = time.perf_counter()
    vec_cls = CountVectorizer if vectorizer == "count" else TfidfVectorizer
    vec = vec_cls(analyzer=_identity, max_features=max_features)
    x_train = vec.fit_transform(train_docs)
    settings = {
        "vectorizer": vectorizer,
        "max_features": max_features,
        "features": len(vec.vocabulary_),
        "C": C,
        "max_iter": LOGREG_MAX_ITER,
    }
    if np.unique(y_train).size < 2:
        # Seed C's all-one-class labels: there is nothing to fit; say so, do not crash.
        return {"settings": settings, "skipped": "training labels hold a single class"}
    model = LogisticRegression(C=C, max_iter=LOGREG_MAX_ITER)
    model.fit(x_train, y_train)
    bow: dict[str, Any] = {"settings": settings}
    for s in EVAL_SPLITS:
        scores = model.decision_function(vec.transform(eval_docs[s]))
        if num_classes != 2:
            scores = _full_logits(np.atleast_2d(scores), model.classes_, num_classes)
        # Binary: decision_function > 0 means class 1 (classes_ == [0, 1]), the same
        # convention as the models' single logit, so sentiment_metrics reads both alike.
        bow[s] = sentiment_metrics(y[s], scores)
    settings["iterations"] = int(np.max(model.n_iter_))
    bow["seconds"] = time.perf_counter() - started
    return bow


def _sentiment_once(
    splits: dict[str, list[dict]],
    y: dict[str, np.ndarray],
    names: list[str],
    *,
    vectorizer: str,
    max_features: int | None,
    C: float,
    length: int | None = None,
    truncating: str = "post",
    whole: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The majority class and the bag of words on one set of rows: at ``length`` (the
    models' cut) and on whole documents (``whole``: already computed for these rows)."""
    num_classes = len(names)
    majority = majority_label(y["train"])
    result: dict[str, Any] = {
        MAJORITY: {
            "label": names[majority],
            **{
                s: sentiment_metrics(y[s], _constant_logits(majority, len(y[s]), num_classes))
                for s in EVAL_SPLITS
            },
        }
    }
    options = {"vectorizer": vectorizer, "max_features": max_features, "C": C}

    def docs(split: str, cut: int | None) -> list[list[str]]:
        return [_cut(r["tokens"], cut, truncating) for r in splits[split]]

    if whole is None:
        whole = _bow_fit(
            docs("train", None), y["train"], {s: docs(s, None) for s in EVAL_SPLITS}, y,
            num_classes, **options,
        )  # fmt: skip
    if length is not None:
        result[BOW] = _bow_fit(
            docs("train", length), y["train"], {s: docs(s, length) for s in EVAL_SPLITS}, y,
            num_classes, **options,
        )  # fmt: skip
        result[BOW]["reads"] = f"the models' tokens: {_cut_note(length, truncating)}"
        result[BOW_WHOLE] = {**whole, "reads": "whole documents (beyond the models' length)"}
    else:
        result[BOW] = whole
    return result


def _cut_note(length: int, truncating: str) -> str:
    return f"the {'first' if truncating == 'post' else 'last'} {length} tokens of each document"


def sentiment_baselines(
    tokens_dir: str | Path,
    vocab_path: str | Path,
    *,
    vectorizer: str = "count",
    max_features: int | None = None,
    C: float = 1.0,
    groups: Sequence[dict[str, Any]] | None = None,
    truncating: str = "post",
) -> list[dict[str, Any]]:
    """Majority and bag-of-words baselines, one record per group (see the module doc); a
    group's ``length`` is the models' cut, whose tokens ``bow-logreg`` reads (None:
    whole documents, and no separate whole-document entry)."""
    if vectorizer not in VECTORIZERS:
        raise ValueError(f"vectorizer must be one of {list(VECTORIZERS)}, got {vectorizer!r}")
    names = _label_names(vocab_path)
    index = {name: i for i, name in enumerate(names)}
    records = {s: _read_split(tokens_dir, s) for s in ("train", *EVAL_SPLITS)}
    labels = {s: _label_ids(recs, index, s) for s, recs in records.items()}
    sizes = {s: len(recs) for s, recs in records.items()}
    whole_of: dict[tuple, dict[str, Any]] = {}  # one whole-document fit per row set
    out = []
    for group in _normalise_groups(groups):
        per_seed = []
        for seeds, rows in _seed_runs(group, sizes, labels["train"]):
            splits = {s: _pick(records[s], rows[s]) for s in records}
            y = {s: labels[s] if rows[s] is None else labels[s][rows[s]] for s in labels}
            key = tuple(None if r is None else tuple(r.tolist()) for r in rows.values())
            once = _sentiment_once(
                splits, y, names, vectorizer=vectorizer, max_features=max_features, C=C,
                length=group["length"], truncating=truncating, whole=whole_of.get(key),
            )  # fmt: skip
            whole_of[key] = once.get(BOW_WHOLE) or once[BOW]
            per_seed.append((seeds, once))
        out.append(_group_record(group, sizes, _combine(per_seed)))
    return out


# --- NER -------------------------------------------------------------------------------


def _tag_rows(records: list[dict], split: str) -> tuple[list[list[str]], list[list[str]]]:
    words, tags = [], []
    for i, r in enumerate(records):
        if len(r["tokens"]) != len(r["tags"]):
            raise AnalysisError(f"{split} sentence {i}: {len(r['tokens'])} tokens but tags differ")
        words.append(list(r["tokens"]))
        tags.append(list(r["tags"]))
    return words, tags


def _most_frequent(counter: Counter[str], order: dict[str, int]) -> str:
    # Ties go to the tag listed first in label_names ("O" first), so the result does not
    # depend on the order sentences were read in.
    return min(counter, key=lambda tag: (-counter[tag], order.get(tag, len(order)), tag))


def tag_metrics(gold: list[list[str]], pred: list[list[str]]) -> dict[str, Any]:
    """The models' NER metrics (metrics.tag_sequence_metrics) from tag-name sequences."""
    return tag_sequence_metrics(gold, pred)


def most_frequent_tagger(
    train_words: Sequence[Sequence[str]],
    train_tags: Sequence[Sequence[str]],
    label_names: Sequence[str] = (),
) -> dict[str, str]:
    """``{word: its most frequent training tag}``."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for words, tags in zip(train_words, train_tags, strict=True):
        for word, tag in zip(words, tags, strict=True):
            counts[word][tag] += 1
    order = {tag: i for i, tag in enumerate(label_names)}
    return {word: _most_frequent(counter, order) for word, counter in counts.items()}


def _cut(row: Sequence[str], length: int | None, truncating: str) -> list[str]:
    return list(row) if length is None else keep_tokens(row, length, truncating)


def _ner_once(
    rows: dict[str, tuple[list[list[str]], list[list[str]]]],
    names: list[str],
    length: int | None,
    truncating: str,
) -> dict[str, Any]:
    """Both NER baselines on one set of rows: fit on the kept tokens of the training
    sentences (what a model of ``length`` sees), score whole evaluation sentences with
    every cut-off token predicted "O"."""
    order = {tag: i for i, tag in enumerate(names)}
    train_words = [_cut(r, length, truncating) for r in rows["train"][0]]
    train_tags = [_cut(r, length, truncating) for r in rows["train"][1]]
    overall = Counter(t for row in train_tags for t in row)
    if not overall:
        raise AnalysisError("the train split holds no tagged token")
    majority = _most_frequent(overall, order)
    tagger = most_frequent_tagger(train_words, train_tags, names)
    result: dict[str, Any] = {
        MAJORITY: {"label": majority},
        MOST_FREQUENT_TAG: {"settings": {"unknown_word_tag": OUTSIDE_TAG, "words": len(tagger)}},
    }
    for s in EVAL_SPLITS:
        words, gold = rows[s]
        kept = [_cut(row, length, truncating) for row in words]
        constant = [
            cut_predictions([majority] * len(k), len(row), truncating)
            for k, row in zip(kept, words, strict=True)
        ]
        result[MAJORITY][s] = tag_metrics(gold, constant)
        predicted = [
            cut_predictions([tagger.get(w, OUTSIDE_TAG) for w in k], len(row), truncating)
            for k, row in zip(kept, words, strict=True)
        ]
        result[MOST_FREQUENT_TAG][s] = tag_metrics(gold, predicted)
    return result


def ner_baselines(
    tokens_dir: str | Path,
    vocab_path: str | Path,
    *,
    groups: Sequence[dict[str, Any]] | None = None,
    truncating: str = "post",
) -> list[dict[str, Any]]:
    """Majority-tag and most-frequent-tag baselines, one record per group; a group's
    ``length`` is the models' cut (None: whole sentences)."""
    names = _label_names(vocab_path)
    rows = {s: _tag_rows(_read_split(tokens_dir, s), s) for s in ("train", *EVAL_SPLITS)}
    if not any(t for row in rows["train"][1] for t in row):
        raise AnalysisError(f"{tokens_dir}: the train split holds no tagged token")
    sizes = {s: len(r[0]) for s, r in rows.items()}
    out = []
    for group in _normalise_groups(groups):
        per_seed = []
        for seeds, picked in _seed_runs(group, sizes):
            subset = {s: (_pick(rows[s][0], picked[s]), _pick(rows[s][1], picked[s])) for s in rows}
            per_seed.append((seeds, _ner_once(subset, names, group["length"], truncating)))
        out.append(_group_record(group, sizes, _combine(per_seed)))
    return out


# --- memory ----------------------------------------------------------------------------


def memory_baselines(
    encoded: Sequence[str | Path], groups: Sequence[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Majority class, one record per group; each group reads the encoded file of its
    length (without groups: one group per file, whole splits)."""
    from rnnbench.data.arrays import load_encoded

    if not encoded:
        raise AnalysisError("the memory baseline needs at least one encoded .npz (--encoded)")
    by_length: dict[int, Any] = {}
    for path in encoded:
        try:
            data = load_encoded(path)
        except (OSError, ValueError, KeyError) as err:
            raise AnalysisError(f"{path}: cannot read encoded dataset: {err}") from None
        by_length[int(data.meta.length)] = data
    if not groups:
        groups = [
            {"length": length, "train_subsample": None, "eval_subsample": None, "seeds": []}
            for length in sorted(by_length)
        ]
    out = []
    for group in _normalise_groups(groups):
        data = by_length.get(group["length"])
        if data is None:
            raise AnalysisError(
                f"no encoded file of length {group['length']} among {sorted(by_length)}"
            )
        names = data.meta.label_names
        sizes = {s: len(data.splits[s]) for s in ("train", *EVAL_SPLITS)}
        per_seed = []
        for seeds, rows in _seed_runs(group, sizes, data.splits["train"].y):
            y = {
                s: data.splits[s].y if rows[s] is None else data.splits[s].y[rows[s]] for s in sizes
            }
            label = majority_label(y["train"])
            entry = {
                "label": names[label] if label < len(names) else label,
                **{s: {"accuracy": majority_score(y[s], label)} for s in EVAL_SPLITS},
            }
            per_seed.append((seeds, {MAJORITY: entry}))
        out.append(_group_record(group, sizes, _combine(per_seed)))
    return out


# --- entry point -----------------------------------------------------------------------


def compute_baselines(
    task: str,
    tokens_dir: str | Path | None = None,
    vocab_path: str | Path | None = None,
    *,
    encoded: Sequence[str | Path] = (),
    dataset: str | None = None,
    vectorizer: str = "count",
    max_features: int | None = None,
    C: float = 1.0,
    groups: Sequence[dict[str, Any]] | None = None,
    truncating: str = "post",
) -> dict[str, Any]:
    """Every baseline of ``task``: ``{"task", "headline_metric", "groups": [{"length",
    "train_subsample", "eval_subsample", "seeds", "examples", "trained_on",
    "evaluated_on", "baselines": {name: {"validation": metrics, "test": metrics,
    ...}}}]}``. Text tasks read ``tokens_dir`` (train/validation/test.jsonl) and
    ``vocab_path``; memory reads ``encoded`` .npz. ``groups`` are
    :func:`subsample_groups` (None: the whole splits); ``truncating`` is the models' cut
    (NER, sentiment)."""
    if task not in HEADLINE:
        raise ValueError(f"task {task!r} is unknown; use one of {sorted(HEADLINE)}")
    started = time.perf_counter()
    if task == "memory":
        records = memory_baselines(encoded, groups)
    else:
        if tokens_dir is None or vocab_path is None:
            raise ValueError(f"the {task} baselines need tokens_dir and vocab_path")
        if task == "sentiment":
            records = sentiment_baselines(
                tokens_dir,
                vocab_path,
                vectorizer=vectorizer,
                max_features=max_features,
                C=C,
                groups=groups,
                truncating=truncating,
            )
        else:
            records = ner_baselines(tokens_dir, vocab_path, groups=groups, truncating=truncating)
    headline = HEADLINE[task]
    for record in records:
        for name, entry in record["baselines"].items():
            log.info(
                "baseline %s (%s): %s %s",
                name,
                record["evaluated_on"],
                headline,
                entry.get("test", {}).get(headline),
            )
    return {
        "dataset": dataset,
        "task": task,
        "headline_metric": headline,
        "groups": records,
        "seconds": time.perf_counter() - started,
    }


def _group_key(group: dict[str, Any]) -> tuple:
    keys = ("length", TRAIN_SIZE, *SUBSAMPLE_KEYS)
    return (*(group.get(k) for k in keys), tuple(group["seeds"]))


def merge_fold_baselines(docs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The baselines of a cross-validated dataset from each fold's (fold order): per group
    and baseline the mean over the folds, each fold's scores under ``by_fold``, as the
    comparison table pools the models' folds. Every fold has the same groups (one grid)."""
    if not docs:
        raise AnalysisError("no fold baselines to merge")
    shapes = {tuple(_group_key(g) for g in doc["groups"]) for doc in docs}
    if len(shapes) > 1:
        raise AnalysisError("the folds' baselines have different groups; recompute them")
    groups = []
    for i, first in enumerate(docs[0]["groups"]):
        per_fold = [doc["groups"][i] for doc in docs]
        merged: dict[str, Any] = {}
        for name in first["baselines"]:
            entries = [g["baselines"].get(name, {}) for g in per_fold]
            skipped = [e for e in entries if "skipped" in e or not e]
            if skipped:
                merged[name] = skipped[0] or {"skipped": "missing in a fold"}
                continue
            out = {k: v for k, v in entries[0].items() if k not in (*EVAL_SPLITS, "by_seed")}
            for split in EVAL_SPLITS:
                out[split] = _mean([e[split] for e in entries])
            out["by_fold"] = {
                str(fold): {split: e[split] for split in EVAL_SPLITS}
                for fold, e in enumerate(entries)
            }
            merged[name] = out
        groups.append(
            {
                **first,
                "folds": len(docs),
                "examples_by_fold": [g["examples"] for g in per_fold],
                "trained_on": f"{first['trained_on']} (fold 0; each of {len(docs)} folds)",
                "evaluated_on": f"{first['evaluated_on']} (fold 0), mean over {len(docs)} folds",
                "baselines": merged,
            }
        )
    return {
        **{k: v for k, v in docs[0].items() if k != "groups"},
        "folds": len(docs),
        "groups": groups,
        "seconds": sum(float(d.get("seconds") or 0.0) for d in docs),
    }


def write_baselines(path: str | Path, result: dict[str, Any]) -> None:
    write_json_atomic(path, json_safe(result))


def baseline_rows(doc: dict[str, Any] | None, split: str = "test") -> list[dict[str, Any]]:
    """One row per (group, baseline) of a compute_baselines result: ``{"name", "score"
    (headline on split), "length", "train_subsample", "eval_subsample", "seeds",
    "evaluated_on"}``; skipped baselines are left out. A document with a top-level
    ``baselines`` (no groups) reads as one group with nothing known about its rows."""
    if not doc:
        return []
    headline = doc.get("headline_metric")
    groups = doc.get("groups")
    if groups is None:
        groups = [{"baselines": doc.get("baselines") or {}}]
    out, seen = [], set()
    for group in groups:
        for name, entry in (group.get("baselines") or {}).items():
            value = (entry.get(split) or {}).get(headline)
            if value is None:
                continue
            # The whole-document figure is the same in every length group: one row.
            length = None if name == BOW_WHOLE else group.get("length")
            size = group.get(TRAIN_SIZE)
            key = (name, length, size, *(group.get(k) for k in SUBSAMPLE_KEYS), float(value))
            if key in seen:
                continue
            seen.add(key)
            out.append(
                {
                    "name": name,
                    "score": float(value),
                    "length": length,
                    TRAIN_SIZE: size,
                    **{k: group.get(k) for k in SUBSAMPLE_KEYS},
                    "seeds": group.get("seeds") or [],
                    "evaluated_on": group.get("evaluated_on", "")
                    + (f"; reads {entry['reads']}" if entry.get("reads") else ""),
                }
            )
    return out


def baseline_scores(doc: dict[str, Any] | None, split: str = "test") -> dict[str, float]:
    """``{baseline name: headline score on split}`` (the first group's, when several)."""
    scores: dict[str, float] = {}
    for row in baseline_rows(doc, split):
        scores.setdefault(row["name"], row["score"])
    return scores
