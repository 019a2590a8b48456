"""A missing or unreachable source fails early, naming the dataset, the source and the ways out.

A user's clone has no ../shared: the overlay that points at it must fail at `snakemake -n`
with a message, never Snakemake's raw MissingInputException; a URL that cannot be
downloaded fails in the fetch job with the same ways out, on the terminal.
"""

from __future__ import annotations

import http.server
import socket
import threading
from pathlib import Path

import pytest
import yaml

from conftest import REPO_ROOT, prepare_table_corpus, run_snakemake
from rnnbench.data.fetch import fetch, missing_local_sources
from rnnbench.errors import DataError

pytestmark = pytest.mark.fault


def _workdir(tmp_path: Path, overlay: dict) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "config.yaml").write_text((REPO_ROOT / "config.yaml").read_text())
    (tmp_path / "overlay.yaml").write_text(yaml.safe_dump(overlay))
    return tmp_path


def test_missing_local_source_fails_at_dry_run(tmp_path: Path) -> None:
    # what a fresh clone meets with the ../shared overlay and no ../shared beside it
    overlay = yaml.safe_load((REPO_ROOT / "tests" / "shared-data.yaml").read_text())
    workdir = _workdir(tmp_path / "clone", overlay)
    result = run_snakemake(
        workdir, "-n", "--configfile", str(workdir / "overlay.yaml"), timeout=300
    )
    assert result.returncode != 0
    out = result.stdout + result.stderr
    assert "MissingInputException" not in out and "Traceback" not in out
    assert "dataset 'imdb': source '../shared/data/aclImdb_repacked.tar.gz'" in out
    assert "(datasets.imdb.url) does not exist" in out
    assert "dataset 'gmb': source '../shared/data/ner_dataset.csv.gz'" in out
    assert "`make run`" in out and "data/samples/" in out  # the shipped-sample main job
    assert "point `datasets.imdb.url` at a local copy" in out


def test_only_datasets_to_run_are_checked() -> None:
    datasets = {
        "a": {"task": "sentiment", "url": "no/such/a.tar.gz"},
        "b": {"task": "sentiment", "splits": {"train": "no/such/train.csv"}},
        "m": {"task": "memory"},
    }
    assert missing_local_sources(datasets, ["m"]) is None
    message = missing_local_sources(datasets, ["a", "b", "m"])
    assert message is not None
    assert "(datasets.a.url)" in message and "(datasets.b.splits.train)" in message


def test_existing_and_remote_sources_pass(tmp_path: Path) -> None:
    (tmp_path / "here.csv").write_text("text,label\n")
    datasets = {
        "local": {"task": "sentiment", "url": str(tmp_path / "here.csv")},
        "remote": {"task": "sentiment", "url": "https://example.org/x.csv"},
    }
    assert missing_local_sources(datasets, ["local", "remote"]) is None


def test_failed_download_names_key_and_ways_out(tmp_path: Path) -> None:
    # port 9 (discard) on loopback: refused at once, no traffic leaves the machine
    with pytest.raises(DataError) as err:
        fetch(
            "http://127.0.0.1:9/corpus.tar.gz",
            tmp_path / "x",
            None,
            timeout=5,
            key="datasets.imdb.url",
        )
    message = str(err.value)
    assert message.startswith("datasets.imdb.url: download of http://127.0.0.1:9/corpus.tar.gz")
    assert "`make run`" in message and "point `datasets.imdb.url` at a local copy" in message
    assert not (tmp_path / "x").exists()


class _CutOffHandler(http.server.BaseHTTPRequestHandler):
    """Promises 100,000 bytes, sends 1,000, and drops the connection: a download cut off."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "100000")
        self.end_headers()
        self.wfile.write(b"x" * 1000)
        self.wfile.flush()
        self.connection.shutdown(socket.SHUT_RDWR)

    def log_message(self, *args: object) -> None:
        pass


def test_a_download_cut_off_midway_leaves_no_partial_file(tmp_path: Path) -> None:
    """Unlike a refused connection (nothing written), 1,000 bytes arrive before the cut: the
    fetch fails naming the key, and neither the file nor a temp file is left."""
    server = http.server.HTTPServer(("127.0.0.1", 0), _CutOffHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/corpus.tar.gz"
    try:
        with pytest.raises(DataError) as err:
            fetch(url, tmp_path / "x", None, timeout=5, key="datasets.imdb.url")
    finally:
        server.shutdown()
        server.server_close()
    assert str(err.value).startswith(f"datasets.imdb.url: download of {url} failed")
    assert "dropped after 1,000 of 100,000 bytes" in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_download_prints_the_log_s_end_on_the_terminal(tmp_path: Path) -> None:
    result = prepare_table_corpus(tmp_path, "http://127.0.0.1:9/reviews.tsv")
    assert result.returncode != 0
    # The fetch job's own stderr (the log's end), not only Snakemake's pointer to the log:
    assert "datasets.t.url: download of http://127.0.0.1:9/reviews.tsv failed" in result.stderr
    assert "`make run`" in result.stderr
