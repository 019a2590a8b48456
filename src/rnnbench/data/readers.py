"""Readers: raw corpus files -> records in one common form.

Sentiment records are ``{"text": str, "label": str}``; NER records are
``{"tokens": [str], "tags": [str]}`` with IOB2 tags. Every reader raises
:class:`DataError` naming the file (and line) at fault instead of guessing.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import re
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from rnnbench.errors import DataError

Record = dict
TAG_PATTERN = re.compile(r"^(O|[BI]-\S+)$")


# --- archives -------------------------------------------------------------------------


def _magic(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(4)


@contextmanager
def open_member(path: str | Path, member: str | None = None) -> Iterator[IO[bytes]]:
    """Open a plain file, a ``.gz``, or one member of a ``.zip``, as a binary stream."""
    path = Path(path)
    if path.stat().st_size == 0:
        raise DataError(f"{path} is empty; re-fetch it or fix the dataset's source")
    magic = _magic(path)
    if magic[:2] == b"\x1f\x8b":
        with gzip.open(path, "rb") as handle:
            yield handle
    elif magic == b"PK\x03\x04":
        try:
            archive = zipfile.ZipFile(path)
        except zipfile.BadZipFile as err:
            raise DataError(f"{path} is not a readable zip archive ({err}); re-fetch it") from err
        with archive:
            names = [n for n in archive.namelist() if not n.endswith("/")]
            if member is None:
                if len(names) != 1:
                    raise DataError(
                        f"{path} holds {len(names)} files {names[:5]}; choose one with "
                        "`options: {member: NAME}`"
                    )
                member = names[0]
            elif member not in names:
                raise DataError(f"{path} has no member {member!r}; members: {names[:10]}")
            with archive.open(member) as handle:
                yield handle
    else:
        with open(path, "rb") as handle:
            yield handle


class _LinePerRead(io.BufferedIOBase):
    """A binary stream whose ``read1`` returns exactly one line.

    TextIOWrapper decodes whatever one ``read1`` returns (8 KiB by default), so a decode
    error would surface while the lines before it in that chunk are still unread, and the
    reported line number would be that of the chunk's first line.
    """

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw

    def readable(self) -> bool:
        return True

    def read1(self, size: int = -1) -> bytes:
        return self._raw.readline()  # a whole line whatever ``size``: errors stay on it

    def read(self, size: int | None = -1) -> bytes:
        return self._raw.read(-1 if size is None else size)


def _text_lines(stream: IO[bytes], path: Path, encoding: str) -> Iterator[str]:
    """Decode lines, turning decode and truncation errors into DataErrors naming the file."""
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise DataError(
            f"{path}: unknown encoding {encoding!r}; fix the dataset's `options: {{encoding: ...}}`"
        ) from None
    text = io.TextIOWrapper(_LinePerRead(stream), encoding=encoding, newline="")
    line_number = 0
    try:
        for line_number, line in enumerate(text, start=1):  # noqa: B007 - used in except
            yield line
    except UnicodeDecodeError as err:
        raise DataError(
            f"{path}: line {line_number + 1} is not valid {encoding} ({err.reason} at byte "
            f"{err.start} of the line); set the dataset's `options: {{encoding: ...}}` (e.g. latin-1)"
        ) from err
    except (EOFError, OSError, zipfile.BadZipFile, zlib.error) as err:
        raise DataError(f"{path} is truncated or corrupt ({err}); re-fetch it") from err


# --- aclImdb ----------------------------------------------------------------------------

ACLIMDB_MEMBER = re.compile(r"(?:^|/)aclImdb/(train|test)/(pos|neg)/[^/]+\.txt$")


def read_aclimdb(path: str | Path) -> dict[str, list[Record]]:
    """The aclImdb tarball: ``train``/``test`` reviews labelled ``pos``/``neg``; unsup ignored."""
    path = Path(path)
    splits: dict[str, list[tuple[str, Record]]] = {"train": [], "test": []}
    try:
        with tarfile.open(path, "r:*") as archive:
            for member in archive:
                match = ACLIMDB_MEMBER.search(member.name)
                if not match or not member.isfile():
                    continue
                split, label = match.groups()
                raw = archive.extractfile(member).read()
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as err:
                    raise DataError(f"{path}: {member.name} is not valid UTF-8 ({err})") from err
                splits[split].append((member.name, {"text": text, "label": label}))
            # tarfile stops quietly at a garbled header, so a corrupt archive would pass for a
            # shorter one; reading on to the end makes gzip check its CRC and length.
            while archive.fileobj.read(1 << 20):
                pass
    except (tarfile.TarError, EOFError, OSError, zipfile.BadZipFile, zlib.error) as err:
        raise DataError(
            f"{path} is not a readable aclImdb tar archive ({type(err).__name__}: {err}); "
            "it is probably truncated: delete it and re-fetch"
        ) from err
    for split, rows in splits.items():
        if not rows:
            raise DataError(
                f"{path}: no reviews under aclImdb/{split}/{{pos,neg}}/*.txt; is this the "
                "aclImdb archive?"
            )
    # Archive order is arbitrary; sort by member name so results never depend on it.
    return {
        split: [rec for _, rec in sorted(rows, key=lambda r: r[0])]
        for split, rows in splits.items()
    }


# --- CSV/TSV of text and label ------------------------------------------------------------


def _column_index(header: list[str] | None, column: str | int, path: Path, key: str) -> int:
    if header is None:
        if not isinstance(column, int):
            raise DataError(f"{path}: header is false, so `{key}` must be a 0-based index")
        return column
    if isinstance(column, int):
        return column
    if column not in header:
        raise DataError(
            f"{path}: column {column!r} (option `{key}`) not found; columns are {header}"
        )
    return header.index(column)


def read_sentiment_table(path: str | Path, options: dict) -> list[Record]:
    path = Path(path)
    delimiter = options.get("delimiter")
    if delimiter is None:
        stem = path.name.removesuffix(".gz").removesuffix(".zip")
        delimiter = "\t" if stem.endswith(".tsv") else ","
    encoding = options.get("encoding") or "utf-8"
    label_map = options.get("label_map")
    records = []
    with open_member(path, options.get("member")) as stream:
        rows = csv.reader(_text_lines(stream, path, encoding), delimiter=delimiter)
        header = next(rows, None)
        if header is None:
            raise DataError(f"{path} has no rows")
        if not options.get("header", True):
            rows = _prepend(header, rows)
            header = None
        text_i = _column_index(header, options.get("text_column", "text"), path, "text_column")
        label_i = _column_index(header, options.get("label_column", "label"), path, "label_column")
        for line, row in enumerate(rows, start=2 if header else 1):
            if not row:
                continue
            if max(text_i, label_i) >= len(row):
                raise DataError(f"{path}: row {line} has {len(row)} fields; expected more")
            label = row[label_i].strip()
            if label_map is not None:
                if label not in {str(k) for k in label_map}:
                    raise DataError(
                        f"{path}: row {line} has label {label!r}, not in label_map "
                        f"{sorted(map(str, label_map))}"
                    )
                label = str({str(k): v for k, v in label_map.items()}[label])
            records.append({"text": row[text_i], "label": label})
    if not records:
        raise DataError(f"{path} has a header but no data rows")
    return records


def _prepend(first: list[str], rows: Iterator[list[str]]) -> Iterator[list[str]]:
    yield first
    yield from rows


# --- NER: tags ----------------------------------------------------------------------------


def to_iob2(tags: list[str]) -> list[str]:
    """Normalise IOB1 (I- may open an entity) to IOB2 (every entity opens with B-)."""
    out = []
    previous = "O"
    for tag in tags:
        if tag.startswith("I-") and (previous == "O" or previous[2:] != tag[2:]):
            tag = "B-" + tag[2:]
        out.append(tag)
        previous = tag
    return out


def _check_tag(tag: str, path: Path, line: int) -> None:
    if not TAG_PATTERN.match(tag):
        raise DataError(
            f"{path}: line {line} has tag {tag!r}, which is not IOB (O, B-TYPE or I-TYPE); "
            "convert IOBES/BILOU files to IOB2 first"
        )


# --- GMB ner_dataset.csv --------------------------------------------------------------------

GMB_COLUMNS = ("Sentence #", "Word", "Tag")


def read_gmb_csv(path: str | Path, options: dict) -> list[Record]:
    """Kaggle's GMB ``ner_dataset.csv``: latin-1; ``Sentence #`` only on each first token."""
    path = Path(path)
    encoding = options.get("encoding") or "latin-1"
    sentences: list[Record] = []
    with open_member(path, options.get("member")) as stream:
        # newline="" in _text_lines matters: 0x85 decodes to a line separator in latin-1.
        rows = csv.reader(_text_lines(stream, path, encoding))
        header = next(rows, None)
        if header is None:
            raise DataError(f"{path} is empty; expected columns {list(GMB_COLUMNS)}")
        missing = [c for c in GMB_COLUMNS if c not in header]
        if missing:
            raise DataError(f"{path}: missing column(s) {missing}; columns are {header}")
        sent_i, word_i, tag_i = (header.index(c) for c in GMB_COLUMNS)
        for line, row in enumerate(rows, start=2):
            if not row:
                continue
            if len(row) < len(header):
                raise DataError(
                    f"{path}: line {line} has {len(row)} fields, expected {len(header)}"
                )
            word, tag = row[word_i], row[tag_i].strip()
            if word == "":
                raise DataError(f"{path}: line {line} has an empty word")
            _check_tag(tag, path, line)
            if row[sent_i].strip():
                sentences.append({"tokens": [], "tags": []})
            elif not sentences:
                raise DataError(f"{path}: line {line}: the first row must start a sentence")
            sentences[-1]["tokens"].append(word)
            sentences[-1]["tags"].append(tag)
    if not sentences:
        raise DataError(f"{path} has a header but no sentences")
    for sentence in sentences:
        sentence["tags"] = to_iob2(sentence["tags"])
    return sentences


# --- CoNLL column files -----------------------------------------------------------------------


def read_conll(path: str | Path, options: dict) -> list[Record]:
    """CoNLL columns (word first, tag last); blank lines separate sentences."""
    path = Path(path)
    encoding = options.get("encoding") or "utf-8"
    sentences: list[Record] = []
    tokens: list[str] = []
    tags: list[str] = []

    def close() -> None:
        if tokens:
            sentences.append({"tokens": list(tokens), "tags": to_iob2(list(tags))})
        tokens.clear()
        tags.clear()

    with open_member(path, options.get("member")) as stream:
        for line_number, raw in enumerate(_text_lines(stream, path, encoding), start=1):
            line = raw.rstrip("\r\n")
            if not line.strip():
                close()
                continue
            fields = line.split()
            if fields[0] == "-DOCSTART-":
                close()
                continue
            if len(fields) < 2:
                raise DataError(
                    f"{path}: line {line_number} has one column {line!r}; expected word ... tag"
                )
            _check_tag(fields[-1], path, line_number)
            tokens.append(fields[0])
            tags.append(fields[-1])
    close()  # a file need not end with a blank line
    if not sentences:
        raise DataError(f"{path} holds no sentences")
    return sentences


def read_source(
    fmt: str, path: str | Path, options: dict
) -> dict[str, list[Record]] | list[Record]:
    """Dispatch on format: aclimdb returns its official splits; the others one record list."""
    if fmt == "aclimdb":
        return read_aclimdb(path)
    readers = {
        "sentiment_table": read_sentiment_table,
        "gmb_csv": read_gmb_csv,
        "conll": read_conll,
    }
    return readers[fmt](path, options)
