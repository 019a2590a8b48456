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
import json
import logging
import re
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from rnnbench.errors import DataError

log = logging.getLogger("rnnbench.data")

Record = dict
TAG_PATTERN = re.compile(r"^(O|[BI]-\S+)$")
# The longest line (and aclImdb review) a reader accepts, in bytes (`options: max_line_bytes`).
# Real corpora stay far below it (the longest aclImdb review is ~14 KB); a longer line is
# nearly always a binary or corrupt file, e.g. a gzip of zeros, which would otherwise be
# read whole into memory.
DEFAULT_MAX_LINE_BYTES = 4 * 2**20
QUOTING = {"minimal": csv.QUOTE_MINIMAL, "none": csv.QUOTE_NONE}
BOM = "\ufeff"


def excerpt(text: str | bytes, size: int = 60) -> str:
    """``repr`` of the start of ``text``, with its length when cut: never a whole huge line."""
    if len(text) <= size:
        return repr(text)
    unit = "bytes" if isinstance(text, bytes) else "characters"
    return f"{text[:size]!r}... ({len(text):,} {unit})"


def max_line_bytes(options: dict | None) -> int:
    return (options or {}).get("max_line_bytes") or DEFAULT_MAX_LINE_BYTES


# --- archives -------------------------------------------------------------------------


def _head(path: Path, gz: bool) -> bytes:
    """The first 512 bytes of the file, decompressed if ``gz`` (enough to spot a tar)."""
    try:
        with gzip.open(path, "rb") if gz else open(path, "rb") as handle:
            return handle.read(512)
    except (EOFError, OSError, zlib.error) as err:
        raise DataError(f"{path} is truncated or corrupt ({err}); re-fetch it") from err


def _is_tar(head: bytes) -> bool:
    return len(head) >= 262 and head[257:262] == b"ustar"


def check_member_name(path: Path, name: str) -> None:
    """Refuse a member name that would point outside the archive (absolute or with ``..``)."""
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        raise DataError(
            f"{path}: member {excerpt(name)} has an absolute path; refused (an archive must only "
            "hold relative paths): repack it without the leading /"
        )
    if ".." in re.split(r"[/\\]", name):
        raise DataError(
            f"{path}: member {excerpt(name)} contains '..'; refused (it points outside the "
            "archive): repack it with plain relative paths"
        )


def check_tar_members(path: Path, members: list[tarfile.TarInfo]) -> None:
    """Refuse links, absolute or ``..`` names and names stored twice, naming the member."""
    seen: set[str] = set()
    for info in members:
        check_member_name(path, info.name)
        if info.issym() or info.islnk():
            raise DataError(
                f"{path}: member {excerpt(info.name)} is a link (to {excerpt(info.linkname)}); "
                "links in archives are refused: repack it with the files themselves"
            )
        name = info.name.rstrip("/")
        if name in seen and not info.isdir():
            raise DataError(
                f"{path}: member {excerpt(info.name)} is stored twice; the archive was packed "
                "twice (or appended to): repack it with each file once"
            )
        seen.add(name)


def _choose_member(path: Path, names: list[str], member: str | None) -> str:
    if member is None:
        if len(names) != 1:
            raise DataError(
                f"{path} holds {len(names)} files {names[:5]}; choose one with "
                "`options: {member: NAME}`"
            )
        return names[0]
    if member not in names:
        raise DataError(f"{path} has no member {member!r}; members: {names[:10]}")
    return member


@contextmanager
def open_member(path: str | Path, member: str | None = None) -> Iterator[IO[bytes]]:
    """Open a plain file, a ``.gz``, or one member of a ``.zip`` or tar, as a binary stream."""
    path = Path(path)
    if path.stat().st_size == 0:
        raise DataError(f"{path} is empty; re-fetch it or fix the dataset's source")
    magic = _magic(path)
    gz = magic[:2] == b"\x1f\x8b"
    if magic != b"PK\x03\x04" and _is_tar(_head(path, gz)):
        with _open_tar_member(path, member) as handle:
            yield handle
    elif gz:
        with gzip.open(path, "rb") as handle:
            yield handle
    elif magic == b"PK\x03\x04":
        try:
            archive = zipfile.ZipFile(path)
        except zipfile.BadZipFile as err:
            raise DataError(f"{path} is not a readable zip archive ({err}); re-fetch it") from err
        with archive:
            names = [n for n in archive.namelist() if not n.endswith("/")]
            for name in names:
                check_member_name(path, name)
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                raise DataError(
                    f"{path}: member {excerpt(twice[0])} is stored twice; repack the archive "
                    "with each file once"
                )
            with archive.open(_choose_member(path, names, member)) as handle:
                yield handle
    else:
        with open(path, "rb") as handle:
            yield handle


@contextmanager
def _open_tar_member(path: Path, member: str | None) -> Iterator[IO[bytes]]:
    try:
        archive = tarfile.open(path, "r:*")  # noqa: SIM115 - closed by the with below
        members = archive.getmembers()
    except (tarfile.TarError, EOFError, OSError, zlib.error) as err:
        raise DataError(f"{path} is not a readable tar archive ({err}); re-fetch it") from err
    with archive:
        check_tar_members(path, members)
        names = [m.name for m in members if m.isfile()]
        handle = archive.extractfile(_choose_member(path, names, member))
        assert handle is not None  # a regular file
        yield handle


def _magic(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(4)


class _LinePerRead(io.BufferedIOBase):
    """A binary stream whose ``read1`` returns exactly one line, of at most ``limit`` bytes.

    TextIOWrapper decodes whatever one ``read1`` returns (8 KiB by default), so a decode
    error would surface while the lines before it in that chunk are still unread, and the
    reported line number would be that of the chunk's first line. The limit keeps a file
    without line breaks (binary, or a gzip "bomb" of zeros) from being read whole.
    """

    def __init__(self, raw: IO[bytes], path: Path, limit: int) -> None:
        self._raw = raw
        self._path = path
        self._limit = limit
        self._line = 0
        self.utf8_bom = False  # the first line starts with the UTF-8 byte order mark

    def readable(self) -> bool:
        return True

    def read1(self, size: int = -1) -> bytes:
        line = self._raw.readline(self._limit + 1)  # a whole line whatever ``size``
        self._line += 1
        if self._line == 1:
            self.utf8_bom = line.startswith(codecs.BOM_UTF8)
        if len(line) > self._limit:
            raise DataError(
                f"{self._path}: line {self._line} is longer than {self._limit:,} bytes "
                f"(it begins {excerpt(line, 40)}); is this a binary or corrupt file? If its "
                "lines really are that long, raise the dataset's `options: {max_line_bytes: ...}`"
            )
        return line

    def read(self, size: int | None = -1) -> bytes:
        chunks: list[bytes] = []
        while chunk := self.read1():
            chunks.append(chunk)
            if size is not None and 0 <= size <= sum(map(len, chunks)):
                break
        return b"".join(chunks)


def _text_lines(
    stream: IO[bytes], path: Path, encoding: str, limit: int = DEFAULT_MAX_LINE_BYTES
) -> Iterator[str]:
    """Decode lines (a leading BOM dropped), turning decode and truncation errors into
    DataErrors naming the file."""
    try:
        utf8 = codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")
    except LookupError:
        raise DataError(
            f"{path}: unknown encoding {encoding!r}; fix the dataset's `options: {{encoding: ...}}`"
        ) from None
    raw = _LinePerRead(stream, path, limit)
    text = io.TextIOWrapper(raw, encoding=encoding, newline="")
    line_number = 0
    try:
        for line_number, line in enumerate(text, start=1):
            if line_number == 1 and raw.utf8_bom and not utf8:
                raise DataError(
                    f"{path} starts with a UTF-8 byte order mark, so it is UTF-8, but it is "
                    f"read as {encoding}; set the dataset's `options: {{encoding: utf-8}}`"
                )
            yield line[1:] if line_number == 1 and line.startswith(BOM) else line
    except UnicodeDecodeError as err:
        raise DataError(
            f"{path}: line {line_number + 1} is not valid {encoding} ({err.reason} at byte "
            f"{err.start} of the line); set the dataset's `options: {{encoding: ...}}` (e.g. latin-1)"
        ) from err
    except (EOFError, OSError, zipfile.BadZipFile, zlib.error, tarfile.TarError) as err:
        raise DataError(f"{path} is truncated or corrupt ({err}); re-fetch it") from err


# --- aclImdb ----------------------------------------------------------------------------

ACLIMDB_MEMBER = re.compile(r"(?:^|/)aclImdb/(train|test)/(pos|neg)/[^/]+\.txt$")


# A member as the aclImdb reader sees it: name, size in bytes, and how to read its bytes.
ArchiveMember = tuple[str, int, Callable[[int], bytes]]
COMPRESSED_MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")  # gzip, bzip2, xz (a tar inside)
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a zip with members, an empty zip


def archive_kind(path: Path) -> str:
    """``"zip"`` or ``"tar"`` from the file's magic bytes (never its name); a file that is
    neither fails saying so."""
    with open(path, "rb") as handle:
        head = handle.read(512)
    if head.startswith(ZIP_MAGIC):
        return "zip"
    if head.startswith(COMPRESSED_MAGIC) or _is_tar(head) or tarfile.is_tarfile(path):
        return "tar"
    raise DataError(
        f"{path} is neither a tar nor a zip archive (it begins {head[:24]!r}, "
        f"{path.stat().st_size:,} bytes in all): is it an error page, or another file? The aclimdb "
        "format reads the aclImdb tree from a tar (.tar, .tar.gz, .tar.bz2, .tar.xz) or a zip "
        "archive, whatever its name; delete it and re-fetch, or fix the dataset's source"
    )


def _tar_members(path: Path) -> Iterator[ArchiveMember]:
    with tarfile.open(path, "r:*") as archive:
        for member in archive:
            check_tar_members(path, [member])
            if member.isfile():
                yield member.name, member.size, archive.extractfile(member).read
        # tarfile stops quietly at a garbled header, so a corrupt archive would pass for a
        # shorter one; reading on to the end makes gzip check its CRC and length.
        while archive.fileobj.read(1 << 20):
            pass


def _zip_members(path: Path) -> Iterator[ArchiveMember]:
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            check_member_name(path, info.filename)
            if stat.S_ISLNK(info.external_attr >> 16):
                raise DataError(
                    f"{path}: member {excerpt(info.filename)} is a link; links in archives "
                    "are refused: repack it with the files themselves"
                )
            if not info.is_dir():
                yield info.filename, info.file_size, archive.open(info).read


def read_aclimdb(path: str | Path, options: dict | None = None) -> dict[str, list[Record]]:
    """The aclImdb tree in a tar (any compression) or zip archive, told apart by its magic
    bytes: ``train``/``test`` reviews labelled ``pos``/``neg``; unsup ignored.

    Links, absolute or ``..`` member names and a tree stored twice (the same
    ``aclImdb/...`` path under one or two prefixes) are refused, naming the member.
    """
    path = Path(path)
    limit = max_line_bytes(options)
    kind = archive_kind(path)
    splits: dict[str, list[tuple[str, Record]]] = {"train": [], "test": []}
    seen: dict[str, str] = {}
    members = _zip_members(path) if kind == "zip" else _tar_members(path)
    try:
        for name, size, read in members:
            match = ACLIMDB_MEMBER.search(name)
            if not match:
                continue
            key = match.group(0).lstrip("/")
            if seen.get(key) == name:
                raise DataError(
                    f"{path}: member {excerpt(name)} is stored twice; the archive "
                    "was packed twice (or appended to): repack it with each file once"
                )
            if key in seen:
                raise DataError(
                    f"{path}: members {excerpt(seen[key])} and {excerpt(name)} are "
                    "the same review (the aclImdb tree is packed twice); repack the "
                    "archive with one aclImdb tree"
                )
            seen[key] = name
            split, label = match.groups()
            if size > limit:
                raise DataError(
                    f"{path}: {name} is {size:,} bytes, over the "
                    f"{limit:,}-byte limit on one review; is the archive corrupt? If not, "
                    "raise the dataset's `options: {max_line_bytes: ...}`"
                )
            raw = read(limit + 1)
            try:
                text = raw.decode("utf-8").removeprefix(BOM)
            except UnicodeDecodeError as err:
                raise DataError(f"{path}: {name} is not valid UTF-8 ({err})") from err
            splits[split].append((name, {"text": text, "label": label}))
    except (tarfile.TarError, EOFError, OSError, zipfile.BadZipFile, zlib.error) as err:
        raise DataError(
            f"{path} is not a readable aclImdb {kind} archive ({type(err).__name__}: {err}); "
            "it is probably truncated or corrupt: delete it and re-fetch"
        ) from err
    for split, rows in splits.items():
        if not rows:
            raise DataError(
                f"{path}: no reviews under aclImdb/{split}/{{pos,neg}}/*.txt; is this the "
                "aclImdb archive?"
            )
    out = {}
    for split, rows in splits.items():
        rows.sort(key=lambda r: r[0])  # archive order is arbitrary: results never depend on it
        out[split] = [rec for _, rec in rows]
        # The directories declare the classes (a declared list must hold them).
        declared = {**(options or {}), "labels": (options or {}).get("labels") or ["neg", "pos"]}
        _consent(path, out[split], [name for name, _ in rows], declared)
    return out


# --- CSV/TSV of text and label ------------------------------------------------------------

# Fed to the csv reader after the last line: inside a field it proves a quote ran to the end.
_END = "\ue000rnnbench: end of file\ue000"


def _set_field_limit(limit: int) -> None:
    """Let the csv module read fields as long as the line limit (its default is 128 KiB), and
    no longer: a stray quote then fails on the field's size rather than eating the file."""
    csv.field_size_limit(limit)


def csv_records(
    lines: Iterator[str], path: Path, delimiter: str, quoting: str, limit: int
) -> Iterator[tuple[int, list[str], list[str]]]:
    """``(first line, fields, raw lines)`` of each record of a CSV/TSV, in order.

    A quote left open to the end of the file is reported where it opened, not as a
    short last row.
    """
    raw: list[str] = []

    def feed() -> Iterator[str]:
        for line in lines:
            raw.append(line)
            yield line
        yield _END

    _set_field_limit(limit)
    reader = csv.reader(feed(), delimiter=delimiter, quoting=QUOTING[quoting])
    first = 1
    try:
        for row in reader:
            if row == [_END]:
                return
            if row and _END in row[-1]:
                raise DataError(
                    f'{path}: line {first}: a quote (") opened here is never closed, so lines '
                    f"{first}-{reader.line_num - 1} (the rest of the file) would be one field; "
                    "close the quote, or set `options: {quoting: none}` if the file does not "
                    "quote its fields"
                )
            yield first, row, list(raw)
            raw.clear()
            first = reader.line_num + 1
    except csv.Error as err:
        raise DataError(
            f"{path}: line {first}: {err}; a quote opened on line {first} may run on over many "
            "lines: close it, or set `options: {quoting: none}` if the file does not quote its "
            "fields"
        ) from None


def _swallowed_row(
    raw: list[str], delimiter: str, width: int, label_i: int, labels: set[str]
) -> tuple[int, str] | None:
    """The first line after the first of a multi-line record that reads as a row of its own
    (``width`` fields, a known label): a stray quote swallowed it. ``(offset, line)``."""
    for offset, line in enumerate(raw[1:], start=1):
        fields = line.rstrip("\r\n").split(delimiter)
        if len(fields) == width and fields[label_i].strip() in labels:
            return offset, line
    return None


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
    quoting = options.get("quoting") or "minimal"
    label_map = options.get("label_map")
    records = []
    record_lines: list[int] = []  # the first line of each record
    multi_line = []  # (first line, raw lines) of records spanning several lines
    single_line_labels: set[str] = set()
    limit = max_line_bytes(options)
    with open_member(path, options.get("member")) as stream:
        lines = _text_lines(stream, path, encoding, limit)
        rows = csv_records(lines, path, delimiter, quoting, limit)
        first_record = next(rows, None)
        if first_record is None:
            raise DataError(f"{path} has no rows")
        header: list[str] | None = first_record[1]
        if not options.get("header", True):
            rows = _prepend(first_record, rows)
            header = None
        text_i = _column_index(header, options.get("text_column", "text"), path, "text_column")
        label_i = _column_index(header, options.get("label_column", "label"), path, "label_column")
        width = len(header) if header is not None else len(first_record[1])
        for line, row, raw in rows:
            if not row:
                continue
            if max(text_i, label_i) >= len(row):
                raise DataError(f"{path}: row {line} has {len(row)} fields; expected more")
            if header is not None and row == header:
                raise DataError(
                    f"{path}: line {line} repeats the header {excerpt(delimiter.join(header))}; "
                    "were two files concatenated? Remove the line (and check the rows after it)"
                )
            if len(row) > width and options.get("extra_fields", "error") != "ignore":
                raise DataError(
                    f"{path}: line {line} has {len(row)} fields, more than the "
                    f"{'header' if header is not None else 'first row'}'s {width}: a text "
                    f"holding an unquoted delimiter {delimiter!r} shifts the columns after it "
                    f"({excerpt(delimiter.join(row), 80)}); quote that text, or set "
                    "`options: {extra_fields: ignore}` to read the chosen columns of such rows"
                )
            label = row[label_i].strip()
            if len(raw) > 1:
                multi_line.append((line, raw))
            else:
                single_line_labels.add(label)
            if label_map is not None:
                label = _mapped(label, label_map, options, f"{path}: row {line}")
            records.append({"text": row[text_i], "label": label})
            record_lines.append(line)
    if not records:
        raise DataError(f"{path} has a header but no data rows")
    where = [f"line {n}" for n in record_lines]
    _consent(path, records, where, options, header[label_i] if header else None)
    if quoting != "none":
        labels = {str(k) for k in label_map} if label_map is not None else single_line_labels
        width = len(header) if header is not None else max(text_i, label_i) + 1
        for line, raw in multi_line:
            swallowed = _swallowed_row(raw, delimiter, width, label_i, labels)
            if swallowed:
                offset, text = swallowed
                raise DataError(
                    f'{path}: line {line}: a quote (") opened here runs on to line '
                    f"{line + len(raw) - 1}, swallowing lines that read as rows of their own "
                    f"(line {line + offset}: {excerpt(text.rstrip())}); close the quote, or "
                    "set `options: {quoting: none}` if the file does not quote its fields"
                )
    return records


def read_jsonl(path: str | Path, options: dict) -> list[Record]:
    """JSON Lines: one object per line; ``text_column`` / ``label_column`` name its fields
    (defaults ``text`` and ``label``). Blank lines are skipped; a label may be a string, a
    number or a boolean (read as its JSON spelling, then through ``label_map``)."""
    path = Path(path)
    text_key = options.get("text_column", "text")
    label_key = options.get("label_column", "label")
    label_map = options.get("label_map")
    encoding = options.get("encoding") or "utf-8"
    records = []
    lines: list[int] = []
    with open_member(path, options.get("member")) as stream:
        for line_number, line in enumerate(
            _text_lines(stream, path, encoding, max_line_bytes(options)), start=1
        ):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as err:
                raise DataError(
                    f"{path}: line {line_number} is not a JSON object ({err.msg} at column "
                    f"{err.colno}): {excerpt(line.rstrip())}"
                ) from None
            if not isinstance(obj, dict):
                raise DataError(
                    f"{path}: line {line_number} is a JSON {type(obj).__name__}, not an object"
                )
            for key, option in ((text_key, "text_column"), (label_key, "label_column")):
                if key not in obj:
                    raise DataError(
                        f"{path}: line {line_number} has no field {key!r} (option `{option}`); "
                        f"its fields are {sorted(obj)[:20]}"
                    )
            text, label = obj[text_key], obj[label_key]
            if not isinstance(text, str):
                raise DataError(
                    f"{path}: line {line_number}: field {text_key!r} is a JSON "
                    f"{type(text).__name__}, not a string"
                )
            if isinstance(label, (dict, list)) or label is None:
                raise DataError(
                    f"{path}: line {line_number}: field {label_key!r} is {json.dumps(label)[:60]}, "
                    "not a label (a string, number or boolean)"
                )
            label = label if isinstance(label, str) else json.dumps(label)
            if label_map is not None:
                label = _mapped(label, label_map, options, f"{path}: line {line_number}")
            records.append({"text": text, "label": label.strip()})
            lines.append(line_number)
    if not records:
        raise DataError(f"{path} holds no records")
    _consent(path, records, [f"line {n}" for n in lines], options, label_key)
    return records


def _mapped(label: str, label_map: dict, options: dict, where: str) -> str:
    """``label`` through ``label_map``; with ``labels: {case_insensitive: true}`` a key's
    case or whitespace variant maps as the key does."""
    from rnnbench.data.labels import declared_labels, spelling_key

    mapped = {str(k): str(v) for k, v in label_map.items()}
    if label in mapped:
        return mapped[label]
    variants = [k for k in mapped if spelling_key(k) == spelling_key(label)]
    if variants and declared_labels(options)[1]:
        return mapped[variants[0]]
    hint = (
        f"; it differs from the key {excerpt(variants[0])} only in case or whitespace: fix "
        "the file, or merge the spellings with `options: {labels: {case_insensitive: true}}`"
        if variants
        else ""
    )
    raise DataError(f"{where} has label {excerpt(label)}, not in label_map {sorted(mapped)}{hint}")


def _consent(
    path: Path,
    records: list[Record],
    where: list[str],
    options: dict | None,
    header_label: str | None = None,
) -> None:
    """Refuse (or merge, where the options allow it) labels no one consented to
    (:mod:`rnnbench.data.labels`); ``where`` names each record's row."""
    from rnnbench.data.labels import check_labels  # it uses excerpt(), from this module

    labels = check_labels(path, [r["label"] for r in records], where, options, header_label)
    for record, label in zip(records, labels, strict=True):
        record["label"] = label


def read_lines(path: str | Path, options: dict, label: str) -> list[Record]:
    """One example per line, every one labelled ``label`` (`format: lines`: one file per
    class, e.g. rt-polarity.pos). The line is the text, its line break dropped; blank
    lines are skipped and counted in the log. ``encoding`` defaults to utf-8 (rt-polarity
    is latin-1); the line-length and byte-order-mark guards of every reader apply."""
    path = Path(path)
    encoding = options.get("encoding") or "utf-8"
    records = []
    lines: list[str] = []
    blank = 0
    with open_member(path, options.get("member")) as stream:
        for number, line in enumerate(
            _text_lines(stream, path, encoding, max_line_bytes(options)), start=1
        ):
            text = line.rstrip("\r\n")
            if not text.strip():
                blank += 1
                continue
            records.append({"text": text, "label": label})
            lines.append(f"line {number}")
    if not records:
        raise DataError(
            f"{path} holds no examples ({blank} blank line(s)); every non-blank line of a "
            f"class file is one example of its class ({label!r})"
        )
    # The config's `classes` declare its class (a declared list must hold it).
    declared = {**options, "labels": options.get("labels") or [label]}
    _consent(path, records, lines, declared)
    log.info("%s: %d example(s) of %r, %d blank line(s) skipped", path, len(records), label, blank)
    return records


def _prepend(first: tuple, rows: Iterator[tuple]) -> Iterator[tuple]:
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
            f"{path}: line {line} has tag {excerpt(tag)}, which is not IOB (O, B-TYPE or I-TYPE); "
            "convert IOBES/BILOU files to IOB2 first"
        )


# --- GMB ner_dataset.csv --------------------------------------------------------------------

GMB_COLUMNS = ("Sentence #", "Word", "Tag")


def read_gmb_csv(path: str | Path, options: dict) -> list[Record]:
    """Kaggle's GMB ``ner_dataset.csv``: latin-1; ``Sentence #`` only on each first token."""
    path = Path(path)
    encoding = options.get("encoding") or "latin-1"
    limit = max_line_bytes(options)
    sentences: list[Record] = []
    _set_field_limit(limit)
    with open_member(path, options.get("member")) as stream:
        # newline="" in _text_lines matters: 0x85 decodes to a line separator in latin-1.
        rows = _csv_errors(csv.reader(_text_lines(stream, path, encoding, limit)), path)
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


def _csv_errors(reader: Iterator[list[str]], path: Path) -> Iterator[list[str]]:
    try:
        yield from reader
    except csv.Error as err:
        raise DataError(
            f"{path}: line {reader.line_num}: {err}; is a quote left open above it?"
        ) from None


# --- CoNLL column files -----------------------------------------------------------------------


def read_conll(path: str | Path, options: dict) -> list[Record]:
    """CoNLL columns (word first, tag last); blank lines separate sentences.

    Columns are split on tabs when a line has one (a token may then hold spaces, e.g.
    ``New York``), else on any whitespace; ``options: {delimiter: ...}`` fixes one.
    """
    path = Path(path)
    encoding = options.get("encoding") or "utf-8"
    delimiter = options.get("delimiter")
    sentences: list[Record] = []
    tokens: list[str] = []
    tags: list[str] = []

    def close() -> None:
        if tokens:
            sentences.append({"tokens": list(tokens), "tags": to_iob2(list(tags))})
        tokens.clear()
        tags.clear()

    limit = max_line_bytes(options)
    with open_member(path, options.get("member")) as stream:
        lines = _text_lines(stream, path, encoding, limit)
        for line_number, raw in enumerate(lines, start=1):
            line = raw.rstrip("\r\n")
            if not line.strip():
                close()
                continue
            split_on = delimiter or ("\t" if "\t" in line else None)
            if split_on is None or split_on == " ":
                fields = line.split()
            else:
                fields = [f.strip() for f in line.strip().split(split_on)]
            if fields[0] == "-DOCSTART-":
                close()
                continue
            if len(fields) < 2:
                raise DataError(
                    f"{path}: line {line_number} has one column {excerpt(line)}; expected "
                    "word ... tag"
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
        return read_aclimdb(path, options)
    readers = {
        "sentiment_table": read_sentiment_table,
        "jsonl": read_jsonl,
        "gmb_csv": read_gmb_csv,
        "conll": read_conll,
    }
    return readers[fmt](path, options)
