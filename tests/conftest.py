"""Shared builders for the data-stage tests: tiny corpora written by the tests themselves.

Nothing here reads ../shared/data: every fixture file is generated in a temp dir, small
enough that the whole data suite runs in seconds. The builders are plain functions that
the test modules import (``from conftest import aclimdb``): pytest puts tests/ on sys.path.
"""

from __future__ import annotations

import copy
import csv
import gzip
import hashlib
import io
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import yaml

from rnnbench.config import memory_grid_config

REPO_ROOT = Path(__file__).resolve().parents[1]
SCHEMA_PATH = REPO_ROOT / "workflow" / "schemas" / "config.schema.yaml"

# --- aclImdb ---------------------------------------------------------------------------

POS_WORDS = ["great", "wonderful", "superb", "moving", "brilliant"]
NEG_WORDS = ["awful", "boring", "dull", "terrible", "weak"]


def aclimdb_reviews(n_train: int = 10, n_test: int = 4) -> dict[str, str]:
    """``{member name: review}`` for a tiny aclImdb tree, ``unsup`` included.

    Reviews carry HTML ``<br />`` breaks as the real corpus does. Member names follow
    aclImdb's ``<id>_<rating>.txt`` pattern; ids are not zero-padded, so archive order,
    numeric order and name order all differ.
    """
    members = {}
    for split, n in (("train", n_train), ("test", n_test)):
        for label, words in (("pos", POS_WORDS), ("neg", NEG_WORDS)):
            for i in range(n):
                word = words[i % len(words)]
                text = f"A {word} film, truly {word}.<br /><br />{split} review {i} of {label}"
                members[f"aclImdb/{split}/{label}/{i}_{7 if label == 'pos' else 2}.txt"] = text
    for i in range(3):
        members[f"aclImdb/train/unsup/{i}_0.txt"] = f"unlabelled review {i}<br />neither"
    return members


def write_tar(path: Path, members: dict[str, bytes | str], mode: str = "w:gz") -> Path:
    """A tarball of in-memory members, in the given insertion order (plus their dirs)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, mode) as archive:
        dirs: set[str] = set()
        for name, content in members.items():
            parts = name.split("/")
            for depth in range(1, len(parts)):
                directory = "/".join(parts[:depth])
                if directory not in dirs:
                    dirs.add(directory)
                    info = tarfile.TarInfo(directory)
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                    archive.addfile(info)
            data = content.encode("utf-8") if isinstance(content, str) else content
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            archive.addfile(info, io.BytesIO(data))
    return path


def aclimdb(path: Path, n_train: int = 10, n_test: int = 4, reverse: bool = False) -> Path:
    """A tiny ``aclImdb_v1.tar.gz``; ``reverse`` stores the members in the opposite order."""
    members = aclimdb_reviews(n_train, n_test)
    if reverse:
        members = dict(reversed(list(members.items())))
    return write_tar(path, members)


# --- GMB ner_dataset.csv ------------------------------------------------------------------

# Words with a latin-1 0xE9 (é) and a 0x85 byte (U+0085, NEL: a line break to
# str.splitlines, but just a character inside a GMB word).
GMB_ODD_WORDS = ("caf\xe9", "a\x85b")


def gmb_sentences(n: int = 20) -> list[dict[str, list[str]]]:
    """``n`` sentences in IOB2 with B-/I- geo and per tags, and the two odd words."""
    sentences = []
    for i in range(n):
        tokens = ["Visitors", "from", "New", "York", "met", f"Ann{i}", *GMB_ODD_WORDS, "."]
        tags = ["O", "O", "B-geo", "I-geo", "O", "B-per", "O", "O", "O"]
        cut = 5 + i % 5  # lengths 5..9, so a short padding length truncates some
        sentences.append({"tokens": tokens[:cut], "tags": tags[:cut]})
    return sentences


def gmb_csv_bytes(sentences: list[dict[str, list[str]]]) -> bytes:
    """Kaggle's layout: latin-1, ``Sentence #`` only on each sentence's first token."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Sentence #", "Word", "POS", "Tag"])
    for i, sentence in enumerate(sentences, start=1):
        for j, (token, tag) in enumerate(zip(sentence["tokens"], sentence["tags"], strict=True)):
            writer.writerow([f"Sentence: {i}" if j == 0 else "", token, "NN", tag])
    return out.getvalue().encode("latin-1")


def gmb(path: Path, sentences: list[dict] | None = None, raw: bytes | None = None) -> Path:
    """Write a GMB csv as ``.csv``, ``.csv.gz`` or ``.zip`` (one member), by ``path``'s name."""
    data = raw if raw is not None else gmb_csv_bytes(sentences or gmb_sentences())
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(data, mtime=0))
    elif path.name.endswith(".zip"):
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("ner_dataset.csv", data)
    else:
        path.write_bytes(data)
    return path


# --- CoNLL and sentiment tables ---------------------------------------------------------------

# CoNLL-2003 style: -DOCSTART-, four columns, IOB1 tags (I- opens an entity unless it
# follows one of the same type), and no blank line at the end of the file.
CONLL_IOB1 = """-DOCSTART- -X- -X- O

EU NNP B-NP I-ORG
rejects VBZ B-VP O
German JJ B-NP I-MISC
call NN I-NP O
. . O O

Peter NNP B-NP I-PER
Blackburn NNP I-NP I-PER

-DOCSTART- -X- -X- O

BRUSSELS NNP B-NP I-LOC
Paris NNP I-NP B-LOC
1996-08-22 CD I-NP O"""


def conll(path: Path, text: str = CONLL_IOB1, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def table(
    path: Path,
    rows: list[list[Any]],
    delimiter: str = ",",
    encoding: str = "utf-8",
) -> Path:
    """A CSV/TSV of ``rows`` (the first row is the header, if any)."""
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out.getvalue().encode(encoding))
    return path


def reviews_table(path: Path, n: int) -> Path:
    """A two-class sentiment CSV (text, label) of ``n`` short reviews, alternating labels."""
    words = {"pos": ["great", "superb", "fine"], "neg": ["awful", "dull", "weak"]}
    rows: list[list[Any]] = [["text", "label"]]
    for i in range(n):
        label = "pos" if i % 2 else "neg"
        rows.append([f"a {words[label][i % 3]} film, number {i}", label])
    return table(path, rows)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# --- configs ----------------------------------------------------------------------------------

BASE_CONFIG: dict[str, Any] = {
    "datasets_to_run": ["imdb", "gmb", "memory"],
    "datasets": {
        "imdb": {
            "task": "sentiment",
            "format": "aclimdb",
            "url": "https://example.org/aclImdb_v1.tar.gz",
            "sha256": "0" * 64,
            "grid": {"lengths": [120]},
        },
        "gmb": {
            "task": "ner",
            "format": "gmb_csv",
            "url": "data/ner_dataset.csv.gz",
            "sha256": "1" * 64,
            "grid": {"lengths": [104]},
        },
        "memory": {
            "task": "memory",
            "format": "synthetic",
            "synthetic": {"samples": {"train": 20, "validation": 6, "test": 6}},
            "grid": {"lengths": [20, 50]},
        },
    },
}


def base_config() -> dict[str, Any]:
    """A small valid config (a fresh copy): one dataset of each task."""
    return copy.deepcopy(BASE_CONFIG)


def validated(ds: dict[str, Any], name: str = "x") -> dict[str, Any]:
    """One dataset section with the schema's defaults filled in, as the rules receive it."""
    from rnnbench.config import validate_config

    cfg = {"datasets_to_run": [name], "datasets": {name: copy.deepcopy(ds)}}
    validate_config(cfg, SCHEMA_PATH)
    return cfg["datasets"][name]


# --- running the workflow on the generated memory task (no data files needed) ------------


def run_snakemake(workdir: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    """The repository's Snakefile with ``workdir`` as working directory (and config.yaml)."""
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO_ROOT / "Snakefile")]
    return subprocess.run(
        [*command, "-d", str(workdir), *args], capture_output=True, text=True, timeout=timeout
    )


def copy_workflow(dest: Path) -> Path:
    """The workflow with its own copy of the package sources (so a test can touch them)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.so", "*.pyc")
    for name in ("workflow", "src", "reports", "envs"):
        shutil.copytree(REPO_ROOT / name, dest / name, ignore=ignore)
    shutil.copy(REPO_ROOT / "Snakefile", dest / "Snakefile")
    return dest / "Snakefile"


def write_memory_grid(
    workdir: Path,
    archs: list[str],
    optimizers: list[str],
    *,
    lengths: list[int] = [12],  # noqa: B006 - never mutated
    seeds: list[int] = [0],  # noqa: B006 - never mutated
    samples: tuple[int, int, int] = (256, 64, 64),
    **grid: Any,
) -> None:
    """Write a config.yaml with one small memory-task dataset, ``mem``, and its grid."""
    train, validation, test = samples
    hparams = grid.pop("hparams", {"epochs": 2, "batch_size": 32, "hidden": 8, "head_hidden": 0})
    config = memory_grid_config(
        {"archs": archs, "optimizers": optimizers, "lengths": lengths, "seeds": seeds, **grid},
        {"train": train, "validation": validation, "test": test},
        hparams,
    )
    (workdir / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")


def table_corpus_config(url: str, **dataset: object) -> dict:
    """A config with one sentiment table dataset ``t`` read from ``url`` (length 8),
    ``dataset`` keys added: the smallest corpus the data-stage tests run."""
    return {
        "datasets_to_run": ["t"],
        "datasets": {
            "t": {
                "task": "sentiment",
                "format": "sentiment_table",
                "url": url,
                **dataset,
                "grid": {"lengths": [8]},
            }
        },
    }


def prepare_table_corpus(workdir: Path, url: str) -> subprocess.CompletedProcess:
    """``snakemake prepare`` in ``workdir`` on :func:`table_corpus_config`'s corpus."""
    config = table_corpus_config(url)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return run_snakemake(workdir, "--cores", "1", "prepare")
