"""Draw the small IMDB and GMB samples shipped in data/samples/ from the full corpora.

    python data/samples/draw.py --imdb ../shared/data/aclImdb_repacked.tar.gz \
        --gmb ../shared/data/ner_dataset.csv.gz

The draw is seeded and the archives are written byte-for-byte reproducibly (sorted
members, fixed owner and mtime, gzip without a timestamp), so rerunning this script on
the same inputs gives files with the sha256 recorded in data/samples/README.md.

- IMDB: a class-balanced draw from the official split, kept in aclImdb's own layout
  (``aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt``, original file names and bytes,
  plus the corpus README with its terms), so the ordinary ``aclimdb`` reader reads it.
- GMB: whole sentences drawn at random, their rows copied byte-for-byte (latin-1, CRLF)
  in corpus order under the original header, so the ordinary ``gmb_csv`` reader reads it.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import random
import re
import tarfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 20261129
IMDB_PER_CLASS = {"train": 2000, "test": 500}
GMB_SENTENCES = 8000
MTIME = 1309046400  # 2011-06-26, the date the repacked corpus carries
REVIEW = re.compile(r"^aclImdb/(train|test)/(pos|neg)/\d+_\d+\.txt$")


def _gzip_bytes(data: bytes) -> bytes:
    buffer = io.BytesIO()
    # mtime=0 and no file name in the header: the same input always gives the same bytes.
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=9, mtime=0, filename="") as gz:
        gz.write(data)
    return buffer.getvalue()


def draw_imdb(source: Path, out: Path) -> None:
    by_group: dict[tuple[str, str], list[str]] = {}
    contents: dict[str, bytes] = {}
    with tarfile.open(source, "r:*") as archive:
        for member in archive:
            if member.name == "aclImdb/README" and member.isfile():
                contents[member.name] = archive.extractfile(member).read()
            match = REVIEW.match(member.name)
            if match and member.isfile():
                by_group.setdefault(match.groups(), []).append(member.name)
                contents[member.name] = archive.extractfile(member).read()
    rng = random.Random(SEED)
    chosen = ["aclImdb/README"]
    for (split, _label), names in sorted(by_group.items()):
        chosen += rng.sample(sorted(names), IMDB_PER_CLASS[split])
    tar_buffer = io.BytesIO()
    with tarfile.open(fileobj=tar_buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name in sorted(chosen):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(contents[name]), MTIME, 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(contents[name]))
    out.write_bytes(_gzip_bytes(tar_buffer.getvalue()))


def draw_gmb(source: Path, out: Path) -> None:
    # Work on raw CRLF-separated byte lines: latin-1's 0x85 must not be read as a line
    # break, and copying bytes keeps every row exactly as the corpus has it.
    raw = source.read_bytes()
    lines = (gzip.decompress(raw) if source.suffix == ".gz" else raw).split(b"\r\n")
    header, rows = lines[0], [line for line in lines[1:] if line]
    starts = [i for i, row in enumerate(rows) if row.startswith(b"Sentence: ")]
    sentences = [rows[a:b] for a, b in zip(starts, [*starts[1:], len(rows)], strict=True)]
    rng = random.Random(SEED)
    picked = sorted(rng.sample(range(len(sentences)), GMB_SENTENCES))
    body = [header] + [row for i in picked for row in sentences[i]]
    out.write_bytes(_gzip_bytes(b"\r\n".join(body) + b"\r\n"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--imdb", type=Path, required=True, help="aclImdb tarball")
    parser.add_argument("--gmb", type=Path, required=True, help="ner_dataset.csv(.gz)")
    args = parser.parse_args()
    outputs = {
        "imdb-sample.tar.gz": lambda out: draw_imdb(args.imdb, out),
        "gmb-sample.csv.gz": lambda out: draw_gmb(args.gmb, out),
    }
    for name, draw in outputs.items():
        out = HERE / name
        draw(out)
        digest = hashlib.sha256(out.read_bytes()).hexdigest()
        print(f"{name}: {out.stat().st_size:,} bytes, sha256 {digest}")


if __name__ == "__main__":
    main()
