"""Atomic file output: write to a temporary sibling, then rename into place.

A job killed mid-write leaves at most a ``*.tmp-*`` file behind, never a truncated
file under the final name that Snakemake (or a reader) would take as complete.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# mkstemp creates files with mode 0600; a renamed temp file would keep it, so outputs get
# the mode an ordinary open() would give them (0666 less the umask), read once at import.
_FILE_MODE = 0o666 & ~_current_umask()


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path in the target's directory; rename it to ``path`` on success."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.tmp-", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(path: str | Path, obj: Any) -> None:
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def write_jsonl_atomic(path: str | Path, records: Iterator[dict] | list[dict]) -> int:
    """Write one JSON object per line; return the number of records."""
    count = 0
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False))
            handle.write("\n")
            count += 1
    return count


def read_jsonl(path: str | Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def read_json(path: str | Path, error: type[Exception] = ValueError, what: str = "it") -> Any:
    """The JSON document in ``path``; ``error`` (naming the file and ``what`` it holds) if it
    cannot be read or parsed."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError) as err:
        raise error(f"{path}: cannot read {what}: {err}") from None


def read_json_object(path: str | Path, error: type[Exception] = ValueError) -> dict[str, Any]:
    """:func:`read_json` of a file that must hold a JSON object."""
    data = read_json(path, error)
    if not isinstance(data, dict):
        raise error(f"{path}: not a JSON object")
    return data


def json_safe(obj: Any) -> Any:
    """Plain-JSON copy of ``obj``: NaN/inf -> None, numpy scalars and arrays -> Python
    (metrics.json's and the baselines' convention)."""
    if isinstance(obj, dict):
        return {str(key): json_safe(value) for key, value in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(value) for value in obj]
    if type(obj).__module__ == "numpy":  # a numpy scalar or array, without importing numpy
        obj = obj.tolist()
        if isinstance(obj, list):
            return json_safe(obj)
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj
