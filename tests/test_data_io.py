"""Atomic writes: a writer that fails leaves neither the target nor a temporary behind."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from rnnbench.data.arrays import EncodedMeta, Split, load_encoded, save_encoded
from rnnbench.io import atomic_path, read_jsonl, write_json_atomic, write_jsonl_atomic


def _records(n: int, fail_at: int | None = None) -> Iterator[dict]:
    for i in range(n):
        if i == fail_at:
            raise RuntimeError("writer died")
        yield {"i": i, "text": "café"}


def test_jsonl_roundtrip(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "a.jsonl"
    assert write_jsonl_atomic(path, _records(3)) == 3
    assert read_jsonl(path) == list(_records(3))
    assert "café" in path.read_text(encoding="utf-8")  # not \\u escaped
    assert sorted(p.name for p in path.parent.iterdir()) == ["a.jsonl"]


@pytest.mark.fault
def test_failed_jsonl_write_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    with pytest.raises(RuntimeError, match="writer died"):
        write_jsonl_atomic(path, _records(1000, fail_at=500))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.fault
def test_failed_write_keeps_the_previous_file(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    write_jsonl_atomic(path, _records(2))
    with pytest.raises(RuntimeError):
        write_jsonl_atomic(path, _records(10, fail_at=5))
    assert read_jsonl(path) == list(_records(2))
    assert [p.name for p in tmp_path.iterdir()] == ["a.jsonl"]


@pytest.mark.fault
def test_atomic_path_on_keyboard_interrupt(tmp_path: Path) -> None:
    target = tmp_path / "x.bin"
    with pytest.raises(KeyboardInterrupt), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        assert tmp.parent == tmp_path and tmp.name.startswith(".x.bin.tmp-")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


@pytest.mark.fault
def test_failed_npz_write_leaves_no_file(tmp_path: Path) -> None:
    meta = EncodedMeta("d", "sentiment", 3, "post", "post", 10, 2, ["neg", "pos"])
    good = Split(np.zeros((2, 3), np.int32), np.ones(2, np.int32), np.zeros(2, np.int64))
    with pytest.raises(KeyError):
        save_encoded(tmp_path / "len3.npz", meta, {"train": good, "validation": good})
    assert list(tmp_path.iterdir()) == []
    save_encoded(tmp_path / "len3.npz", meta, {"train": good, "validation": good, "test": good})
    loaded = load_encoded(tmp_path / "len3.npz")
    assert loaded.meta == meta
    assert loaded.splits["test"].y.dtype == np.int64


@pytest.mark.fault
def test_re_encoding_the_same_arrays_writes_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Written again an hour later, equal arrays are equal bytes (np.savez stamps its zip
    members 1980-01-01, not the time of writing), so Snakemake's input checksum of a
    re-encoded file sees no change."""
    import time

    meta = EncodedMeta("d", "sentiment", 3, "post", "post", 10, 2, ["neg", "pos"])
    split = Split(np.arange(6, dtype=np.int32).reshape(2, 3), np.ones(2, np.int32), np.ones(2))
    splits = {"train": split, "validation": split, "test": split}
    save_encoded(tmp_path / "a.npz", meta, splits)
    later = time.time() + 3600
    monkeypatch.setattr(time, "time", lambda: later)
    save_encoded(tmp_path / "b.npz", meta, splits)
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    loaded = load_encoded(tmp_path / "b.npz")
    assert loaded.meta == meta and (loaded.splits["test"].x == split.x).all()


def test_written_files_get_ordinary_permissions(tmp_path: Path) -> None:
    path = tmp_path / "card.json"
    write_json_atomic(path, {"a": [1, 2]})
    assert json.loads(path.read_text()) == {"a": [1, 2]}
    plain = tmp_path / "plain"
    plain.write_text("x")
    # not mkstemp's 0600: what an ordinary open() gives under this process's umask
    assert stat.S_IMODE(path.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)
