"""Fetch a source (http(s) URL, ``file://`` URL or local path) and verify its sha256.

The bytes are streamed into a temporary sibling of the destination and hashed on the
way; only a verified file is renamed into place, so a failed or interrupted fetch
never leaves a file that looks complete.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import urllib.parse
import urllib.request
from pathlib import Path
from typing import BinaryIO

from rnnbench.errors import ChecksumError, DataError
from rnnbench.experiment.sources import dataset_sources, is_remote
from rnnbench.io import atomic_path

log = logging.getLogger("rnnbench.fetch")
CHUNK = 1 << 20


def local_path(source: str) -> Path | None:
    """The filesystem path of a ``file://`` URL or plain path; None for a remote URL."""
    if is_remote(source):
        return None
    if source.startswith("file://"):
        parsed = urllib.parse.urlparse(source)
        # file:///abs/path has an empty host; file://relative/path (a common slip) would
        # put "relative" in the host: keep it as the first path component instead.
        host = "" if parsed.netloc in ("", "localhost") else parsed.netloc
        return Path(urllib.parse.unquote(host + parsed.path))
    return Path(source)


def canonical_source(source: str) -> str:
    """One spelling per source file, for the fetch rule's params and input.

    A local source is resolved (symlinks too) and given relative to the working directory
    when it lies below it, else absolute; so ``data/x.csv``, ``./data/x.csv``, its absolute
    path, a ``file://`` URL of it, or a symlink to it, are one source and re-spelling the
    config's ``url`` reruns nothing. A remote URL is kept as given.
    """
    path = local_path(source)
    if path is None:
        return source
    real = os.path.realpath(path)
    relative = os.path.relpath(real, os.path.realpath(os.getcwd()))
    return real if relative.split(os.sep)[0] == os.pardir else relative


def sha256_of_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def stale_pins(fetched: list[tuple[str, str | Path, str | None]]) -> str | None:
    """A message for every fetched copy that its pinned sha256 does not match, else None.

    ``fetched`` holds ``(config key, fetched path, pinned sha256)``. The pin is not a param
    of the fetch rule (pinning a hash must not rerun anything), so a pin changed after the
    fetch is checked here, when the workflow is parsed, instead.
    """
    problems = []
    for key, path, pinned in fetched:
        if not pinned or not os.path.isfile(path):
            continue
        actual = sha256_of_file(path)
        if actual != pinned.lower():
            problems.append(
                f"{path}: its sha256 is {actual}, but {key} pins sha256 {pinned.lower()}: the "
                "source changed since it was fetched, or the pin is wrong. Fetch it again "
                f"(`snakemake --forcerun {path}`, or `rm {path}`), or fix the pin"
            )
    return "\n".join(problems) or None


WAYS_OUT = (
    "Ways out:\n"
    "  - run the main job, which reads the small samples shipped in data/samples/ and needs "
    "no download: `make run` (snakemake --cores 2 --configfile presets/quick.yaml);\n"
    "  - point `{key}` at a local copy of the file (with its `sha256`), in an overlay such as "
    "tests/shared-data.yaml (the full corpora: see config.yaml's `url`s);\n"
    "  - or, on a machine with internet access, leave `{key}` at the official `https://` "
    "source of config.yaml, which the `fetch` job downloads."
)


def source_key(dataset: str, split: str) -> str:
    """The config key a dataset's source is set by (``split`` is "all" for a single url,
    ``all.<label>`` / ``<split>.<label>`` for a class file of format lines)."""
    split, _, label = split.partition(".")
    if label:
        where = "" if split == "all" else f"splits.{split}."
        return f"datasets.{dataset}.{where}classes.{label}"
    return f"datasets.{dataset}.url" if split == "all" else f"datasets.{dataset}.splits.{split}"


def missing_local_sources(datasets: dict[str, dict], names: list[str]) -> str | None:
    """A message for every local source of ``names`` that does not exist, else None.

    Checked when the workflow is parsed, so `snakemake -n` says which file is missing and
    what to do, instead of Snakemake's raw MissingInputException naming only a path.
    """
    problems = []
    for name in names:
        for split, source in dataset_sources(name, datasets[name]).items():
            path = local_path(source["url"])
            if path is None or path.is_file():
                continue
            key = source_key(name, split)
            problems.append(
                f"dataset {name!r}: source {source['url']!r} ({key}) does not exist "
                f"(looked for {path.resolve()}).\n" + WAYS_OUT.format(key=key)
            )
    return "\n".join(problems) or None


def _copy_hashing(reader: BinaryIO, writer: BinaryIO) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    while chunk := reader.read(CHUNK):
        digest.update(chunk)
        writer.write(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def fetch(
    source: str,
    dest: str | Path,
    sha256: str | None,
    timeout: float = 60.0,
    key: str = "the dataset's url",
) -> str:
    """Copy or download ``source`` to ``dest``; return the file's sha256.

    ``key`` is the config key the source came from (``datasets.imdb.url``), for messages.
    """
    path = local_path(source)
    with atomic_path(dest) as tmp, open(tmp, "wb") as out:
        if path is not None:
            if not path.is_file():
                raise DataError(
                    f"source {source!r} does not exist (resolved to {path.resolve()}); "
                    "fix the dataset's `url` in your config"
                )
            log.info("copying %s -> %s", path, dest)
            with open(path, "rb") as src:
                actual, size = _copy_hashing(src, out)
        else:
            log.info("downloading %s -> %s", source, dest)
            request = urllib.request.Request(source, headers={"User-Agent": "rnnbench"})
            try:
                with urllib.request.urlopen(request, timeout=timeout) as response:
                    actual, size = _copy_hashing(response, out)
                    promised = response.headers.get("Content-Length")
                    if promised and promised.isdigit() and size < int(promised):
                        # http.client ends a read quietly when the connection drops early.
                        raise DataError(
                            f"{key}: download of {source} failed: the connection dropped "
                            f"after {size:,} of {int(promised):,} bytes (nothing is kept).\n"
                            + WAYS_OUT.format(key=key)
                        )
            except (OSError, http.client.HTTPException) as err:  # IncompleteRead: cut off
                raise DataError(
                    f"{key}: download of {source} failed: {err}.\n" + WAYS_OUT.format(key=key)
                ) from err
        out.flush()
        log.info("%s: %d bytes, sha256 %s", source, size, actual)
        if sha256 is None:
            log.warning(
                "no sha256 configured for %s; pin it by adding `sha256: %s` to the dataset",
                source,
                actual,
            )
        elif actual.lower() != sha256.lower():
            raise ChecksumError(
                f"sha256 mismatch for {source}: expected {sha256.lower()}, got {actual}. "
                "The file is corrupt, truncated or a different version; re-fetch it, or update "
                "`sha256` if you deliberately changed the source"
            )
    return actual
