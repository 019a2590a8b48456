"""fetch: copy or download a source, verify its sha256, never leave a partial file."""

from __future__ import annotations

import functools
import hashlib
import http.server
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import sha256_of
from rnnbench.data.fetch import fetch, local_path
from rnnbench.errors import ChecksumError, DataError

PAYLOAD = b"id,text,label\n1,fine,pos\n" * 100


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "src dir" / "reviews.csv"
    path.parent.mkdir()
    path.write_bytes(PAYLOAD)
    return path


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A local HTTP server over a temp folder: (base URL, folder)."""
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_plain_path(source: Path, tmp_path: Path) -> None:
    dest = tmp_path / "out" / "reviews.csv"
    assert fetch(str(source), dest, sha256_of(source)) == sha256_of(source)
    assert dest.read_bytes() == PAYLOAD
    assert _leftovers(dest.parent) == ["reviews.csv"]


def test_relative_path(source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(source.parent.parent)
    fetch("src dir/reviews.csv", tmp_path / "out.csv", None)
    assert (tmp_path / "out.csv").read_bytes() == PAYLOAD


def test_file_url(source: Path, tmp_path: Path) -> None:
    url = source.as_uri()
    assert "%20" in url  # "src dir" is percent-encoded, and decoded again by fetch
    assert local_path(url) == source
    dest = tmp_path / "reviews.csv"
    assert fetch(url, dest, sha256_of(source).upper()) == sha256_of(source)
    assert dest.read_bytes() == PAYLOAD


def test_local_path_of_remote_url_is_none() -> None:
    assert local_path("https://example.org/a.tar.gz") is None
    assert local_path("data/a.csv") == Path("data/a.csv")


def test_http_download(http_root: tuple[str, Path], tmp_path: Path) -> None:
    base, root = http_root
    (root / "data.csv").write_bytes(PAYLOAD)
    dest = tmp_path / "data.csv"
    fetch(f"{base}/data.csv", dest, sha256_of(root / "data.csv"))
    assert dest.read_bytes() == PAYLOAD


def test_no_sha256_logs_the_hash_to_pin(
    source: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="rnnbench.fetch")
    digest = fetch(source.as_uri(), tmp_path / "reviews.csv", None)
    assert digest == sha256_of(source)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert f"`sha256: {digest}`" in message and "pin it" in message
    assert source.as_uri() in message
    assert any(f"{len(PAYLOAD)} bytes, sha256 {digest}" in r.getMessage() for r in caplog.records)


def test_remote_without_sha256_logs_the_hash(
    http_root: tuple[str, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    base, root = http_root
    (root / "data.csv").write_bytes(PAYLOAD)
    caplog.set_level(logging.INFO, logger="rnnbench.fetch")
    digest = fetch(f"{base}/data.csv", tmp_path / "data.csv", None)
    assert f"pin it by adding `sha256: {digest}`" in caplog.text


def test_matching_sha256_does_not_warn(
    source: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="rnnbench.fetch")
    fetch(str(source), tmp_path / "reviews.csv", sha256_of(source))
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.fault
def test_sha256_mismatch(source: Path, tmp_path: Path) -> None:
    expected = "AB" * 32
    dest = tmp_path / "out" / "reviews.csv"
    with pytest.raises(ChecksumError) as info:
        fetch(str(source), dest, expected)
    message = str(info.value)
    assert f"expected {'ab' * 32}" in message
    assert f"got {sha256_of(source)}" in message
    assert str(source) in message
    assert isinstance(info.value, DataError)
    assert _leftovers(dest.parent) == []  # neither the file nor a temporary


@pytest.mark.fault
def test_sha256_mismatch_keeps_no_partial_download(
    http_root: tuple[str, Path], tmp_path: Path
) -> None:
    base, root = http_root
    (root / "data.csv").write_bytes(PAYLOAD[:-10])  # a truncated copy
    dest = tmp_path / "out" / "data.csv"
    with pytest.raises(ChecksumError, match=f"sha256 mismatch for {base}/data.csv"):
        fetch(f"{base}/data.csv", dest, hashlib.sha256(PAYLOAD).hexdigest())
    assert _leftovers(dest.parent) == []


@pytest.mark.fault
def test_mismatch_leaves_an_older_good_file_alone(source: Path, tmp_path: Path) -> None:
    dest = tmp_path / "reviews.csv"
    dest.write_bytes(b"previous")
    with pytest.raises(ChecksumError):
        fetch(str(source), dest, "0" * 64)
    assert dest.read_bytes() == b"previous"
    assert _leftovers(tmp_path) == sorted(["reviews.csv", "src dir"])


@pytest.mark.fault
@pytest.mark.parametrize("as_url", [False, True])
def test_missing_local_file(tmp_path: Path, as_url: bool) -> None:
    missing = tmp_path / "nowhere" / "aclImdb_v1.tar.gz"
    src = missing.as_uri() if as_url else str(missing)
    dest = tmp_path / "out" / "aclImdb_v1.tar.gz"
    with pytest.raises(DataError) as info:
        fetch(src, dest, None)
    assert not isinstance(info.value, ChecksumError)
    message = str(info.value)
    assert f"source {src!r} does not exist" in message
    assert str(missing) in message and "`url`" in message
    assert _leftovers(dest.parent) == []


@pytest.mark.fault
def test_http_not_found(http_root: tuple[str, Path], tmp_path: Path) -> None:
    base, _ = http_root
    dest = tmp_path / "missing.csv"
    with pytest.raises(DataError, match=f"download of {base}/missing.csv failed: HTTP Error 404"):
        fetch(f"{base}/missing.csv", dest, None)
    assert not dest.exists()
    assert _leftovers(tmp_path) == ["www"]


def test_file_url_forms_resolve_to_paths() -> None:
    assert local_path("file:///tmp/a%20b.csv") == Path("/tmp/a b.csv")
    assert local_path("file://localhost/tmp/x.csv") == Path("/tmp/x.csv")
    # A relative file:// URL keeps its first component instead of losing it as a "host".
    assert local_path("file://data/x.csv") == Path("data/x.csv")
    assert local_path("https://example.org/x.csv") is None


@pytest.mark.fault
def test_a_local_source_has_one_spelling(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rnnbench.data.fetch import canonical_source

    monkeypatch.chdir(tmp_path)
    source = tmp_path / "data" / "a b.csv"
    source.parent.mkdir()
    source.write_text("text,label\n")
    (tmp_path / "data" / "link.csv").symlink_to(source)
    spellings = ["data/a b.csv", "./data/a b.csv", str(source), source.as_uri(), "data/link.csv"]
    assert {canonical_source(s) for s in spellings} == {"data/a b.csv"}
    outside = tmp_path.parent / "elsewhere.csv"
    assert canonical_source(str(outside)) == os.path.realpath(outside)
    assert canonical_source("https://example.org/x.csv") == "https://example.org/x.csv"


@pytest.mark.fault
def test_a_pin_the_fetched_copy_does_not_match_names_the_file_and_the_way_out(
    tmp_path: Path,
) -> None:
    from rnnbench.data.fetch import stale_pins

    copy = tmp_path / "a.csv"
    copy.write_text("x\n")
    actual = hashlib.sha256(b"x\n").hexdigest()
    assert stale_pins([("datasets.d.url", copy, actual.upper()), ("k", copy, None)]) is None
    assert stale_pins([("datasets.d.url", tmp_path / "missing", "0" * 64)]) is None
    message = stale_pins([("datasets.d.url", copy, "0" * 64)])
    assert message == (
        f"{copy}: its sha256 is {actual}, but datasets.d.url pins sha256 {'0' * 64}: the "
        "source changed since it was fetched, or the pin is wrong. Fetch it again "
        f"(`snakemake --forcerun {copy}`, or `rm {copy}`), or fix the pin"
    )
