"""Archives (issue 24, family 4): the aclImdb reader tells a tar from a zip by its magic
bytes, never its name; a file that is neither says so, naming the file."""

from __future__ import annotations

import re
import stat
import zipfile
from pathlib import Path

import pytest

from conftest import aclimdb_reviews, write_tar
from rnnbench.data.readers import read_aclimdb
from rnnbench.errors import DataError

pytestmark = pytest.mark.fault


def _raises(*parts: str):
    pattern = "".join(f"(?=.*{re.escape(p)})" for p in parts)
    return pytest.raises(DataError, match=re.compile(pattern, re.DOTALL))


def _zip(path: Path, members: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return path


@pytest.mark.parametrize("name", ["aclImdb_v1.zip", "aclImdb_v1.tar.gz", "download"])
def test_a_zip_is_read_whatever_its_name(tmp_path: Path, name: str) -> None:
    members = aclimdb_reviews(4, 2)
    expected = read_aclimdb(write_tar(tmp_path / "reference.tar.gz", members))
    assert read_aclimdb(_zip(tmp_path / name, members)) == expected


@pytest.mark.parametrize(("name", "mode"), [("a.zip", "w:gz"), ("a.txt", "w"), ("a.tgz", "w:bz2")])
def test_a_tar_is_read_whatever_its_name(tmp_path: Path, name: str, mode: str) -> None:
    members = aclimdb_reviews(4, 2)
    expected = read_aclimdb(write_tar(tmp_path / "reference.tar.gz", members))
    assert read_aclimdb(write_tar(tmp_path / name, members, mode=mode)) == expected


@pytest.mark.parametrize(
    "content", [b"<html>404 Not Found</html>", b"\x89PNG\r\n\x1a\n" + bytes(600), b""]
)
def test_a_file_that_is_neither_tar_nor_zip_says_so(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "aclImdb_v1.zip"
    path.write_bytes(content)
    with _raises("aclImdb_v1.zip is neither a tar nor a zip archive", "it begins", "re-fetch"):
        read_aclimdb(path)


def test_a_truncated_zip_is_named_as_a_zip(tmp_path: Path) -> None:
    path = _zip(tmp_path / "aclImdb_v1.tar.gz", aclimdb_reviews(4, 2))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with _raises("aclImdb_v1.tar.gz is not a readable aclImdb zip archive", "re-fetch"):
        read_aclimdb(path)


def test_unsafe_zip_members_are_refused_by_name(tmp_path: Path) -> None:
    members = aclimdb_reviews(4, 2)
    with _raises("member '../aclImdb/train/pos/9_7.txt' contains '..'"):
        read_aclimdb(_zip(tmp_path / "dots.zip", {**members, "../aclImdb/train/pos/9_7.txt": "x"}))
    path = tmp_path / "link.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
        info = zipfile.ZipInfo("aclImdb/train/pos/99_7.txt")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, "/etc/passwd")
    with _raises("link.zip", "member 'aclImdb/train/pos/99_7.txt' is a link"):
        read_aclimdb(path)


def test_a_zip_packed_twice_is_refused(tmp_path: Path) -> None:
    members = aclimdb_reviews(4, 2)
    doubled = {**members, **{f"copy/{k}": v for k, v in members.items()}}
    with _raises("twice.zip", "are the same review"):
        read_aclimdb(_zip(tmp_path / "twice.zip", doubled))
