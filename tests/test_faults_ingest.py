"""Ingest faults (issue 15, "nothing silently wrong"): each input either reads correctly or
fails before training with a message naming the file, the line (or member) and the fix.

Every fixture is generated in ``tmp_path`` and small; the "bomb" is read in a subprocess
under a 1 GiB address-space limit.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import re
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path

import pytest
import yaml

from conftest import (
    SCHEMA_PATH,
    aclimdb_reviews,
    base_config,
    conll,
    run_snakemake,
    validated,
    write_memory_grid,
    write_tar,
)
from rnnbench.config import check_config_files, validate_config
from rnnbench.data.arrays import SPLITS
from rnnbench.data.readers import (
    read_aclimdb,
    read_conll,
    read_gmb_csv,
    read_sentiment_table,
)
from rnnbench.data.stages import (
    build_vocab_file,
    split_dataset,
    tokenize_split,
    write_text_datacard,
)
from rnnbench.errors import ConfigError, DataError
from rnnbench.io import write_jsonl_atomic

pytestmark = pytest.mark.fault


# Tiny tables with one row per class declare their labels (rnnbench.data.labels).
BINARY = {"labels": ["0", "1"]}


def _raises(*parts: str, error: type[Exception] = DataError):
    """pytest.raises(error) whose message must contain every literal in ``parts``."""
    pattern = "".join(f"(?=.*{re.escape(p)})" for p in parts)
    return pytest.raises(error, match=re.compile(pattern, re.DOTALL))


def _tsv(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def _reviews(n: int, stray: int | None = None, closing: int | None = None) -> list[str]:
    """``text<TAB>label`` rows after a header; row ``stray`` opens with an unclosed quote and
    row ``closing`` holds a quote further on (as a review quoting a line of dialogue does)."""
    lines = ["text\tlabel"]
    for i in range(n):
        text = f"review number {i} is {'good' if i % 2 else 'bad'}"
        if i == stray:
            text = f'"Brilliant, says everyone. {text}'
        if i == closing:
            text = f'he said "wow" {text}'
        lines.append(f"{text}\t{i % 2}")
    return lines


# --- 1. quoting -------------------------------------------------------------------------------


def test_a_stray_quote_that_swallows_rows_fails_naming_the_line_where_it_opened(
    tmp_path: Path,
) -> None:
    # Row 10 (line 12) opens a quote that the quote in row 150 closes: csv would silently
    # read 200 rows as 60 examples.
    path = _tsv(tmp_path / "reviews.tsv", _reviews(200, stray=10, closing=150))
    with _raises("reviews.tsv", "line 12", "runs on to line 152", "quoting: none"):
        read_sentiment_table(path, {})


def test_quoting_none_reads_every_row_of_a_file_that_never_quotes(tmp_path: Path) -> None:
    path = _tsv(tmp_path / "reviews.tsv", _reviews(200, stray=10, closing=150))
    records = read_sentiment_table(path, {"quoting": "none"})
    assert len(records) == 200
    assert records[10]["text"].startswith('"Brilliant, says everyone.')
    assert records[150]["text"].startswith('he said "wow"')


def test_an_unclosed_quote_running_to_the_end_of_the_file_is_reported_as_such(
    tmp_path: Path,
) -> None:
    path = _tsv(tmp_path / "reviews.tsv", _reviews(40, stray=10))
    with _raises("reviews.tsv", "line 12", "never closed", "lines 12-41", "quoting: none"):
        read_sentiment_table(path, {})


def test_properly_quoted_fields_with_newlines_and_delimiters_still_read(tmp_path: Path) -> None:
    path = tmp_path / "reviews.csv"
    path.write_text(
        'text,label\n"Great film.\nI loved it, really, ""truly"".",pos\nDull,neg\n'
        '"Two\nlines, one comma",neg\n',
        encoding="utf-8",
    )
    records = read_sentiment_table(path, {"labels": ["neg", "pos"]})
    assert records == [
        {"text": 'Great film.\nI loved it, really, "truly".', "label": "pos"},
        {"text": "Dull", "label": "neg"},
        {"text": "Two\nlines, one comma", "label": "neg"},
    ]


# --- 2. label spellings across splits -----------------------------------------------------------


def _table_dataset(tmp_path: Path, train: list[str], test: list[str], **options) -> tuple:
    lines = {"train": train, "test": test}
    sources = {}
    for split, labels in lines.items():
        rows = ["text\tlabel"] + [f"{split} review {i}\t{lab}" for i, lab in enumerate(labels)]
        sources[split] = str(_tsv(tmp_path / f"{split}.tsv", rows))
    ds = validated(
        {
            "task": "sentiment",
            "format": "sentiment_table",
            "splits": dict(sources),
            "options": options,
            "grid": {"lengths": [8]},
        }
    )
    return ds, sources


@pytest.mark.parametrize(
    ("train", "test", "unseen", "known"),
    [
        (["0", "1"], ["0.0", "1.0"], "'0.0', '1.0'", "['0', '1']"),
        (["neg", "pos"], ["negative", "positive"], "'negative', 'positive'", "['neg', 'pos']"),
    ],
)
def test_a_test_label_spelled_unlike_train_names_both_spellings_and_the_file(
    tmp_path: Path, train: list[str], test: list[str], unseen: str, known: str
) -> None:
    ds, sources = _table_dataset(tmp_path, train * 10, test * 3)
    with _raises(
        str(sources["test"]), "test split", unseen, f"train's labels are {known}", "label_map"
    ):
        split_dataset("t", ds, sources, tmp_path / "out")
    assert not (tmp_path / "out" / "train.jsonl").exists()


def test_a_label_map_of_every_spelling_makes_the_splits_agree(tmp_path: Path) -> None:
    label_map = {"neg": "neg", "pos": "pos", "negative": "neg", "positive": "pos"}
    ds, sources = _table_dataset(
        tmp_path, ["neg", "pos"] * 10, ["negative", "positive"] * 3, label_map=label_map
    )
    split_dataset("t", ds, sources, tmp_path / "out")
    test = [json.loads(line) for line in (tmp_path / "out" / "test.jsonl").read_text().splitlines()]
    assert {r["label"] for r in test} == {"neg", "pos"}


# --- 3. UTF-8 byte order mark -----------------------------------------------------------------


def test_a_bom_is_stripped_from_a_headerless_table(tmp_path: Path) -> None:
    path = tmp_path / "r.tsv"
    path.write_bytes("\ufeff0\tdull\n1\tgreat\n".encode())
    records = read_sentiment_table(
        path, {"header": False, "label_column": 0, "text_column": 1, **BINARY}
    )
    assert [r["label"] for r in records] == ["0", "1"]


def test_a_bom_is_stripped_from_a_header(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes("\ufefftext,label\ndull,0\ngreat,1\n".encode())
    assert read_sentiment_table(path, BINARY)[0] == {"text": "dull", "label": "0"}


def test_a_bom_is_stripped_from_conll_gmb_and_aclimdb(tmp_path: Path) -> None:
    path = conll(tmp_path / "a.conll", "\ufeffEU B-ORG\nrejects O\n")
    assert read_conll(path, {})[0]["tokens"] == ["EU", "rejects"]
    gmb = tmp_path / "ner.csv"
    gmb.write_bytes("\ufeffSentence #,Word,POS,Tag\nSentence: 1,EU,NNP,B-org\n".encode("utf-8"))
    assert read_gmb_csv(gmb, {"encoding": "utf-8"})[0]["tokens"] == ["EU"]
    members = {name: f"\ufeff{text}" for name, text in aclimdb_reviews(2, 2).items()}
    data = read_aclimdb(write_tar(tmp_path / "a.tar.gz", members))
    assert not any(r["text"].startswith("\ufeff") for r in data["train"] + data["test"])


def test_a_utf8_bom_in_a_file_read_as_latin_1_asks_for_utf_8(tmp_path: Path) -> None:
    gmb = tmp_path / "ner.csv"
    gmb.write_bytes("\ufeffSentence #,Word,POS,Tag\nSentence: 1,EU,NNP,B-org\n".encode())
    with _raises("ner.csv", "UTF-8 byte order mark", "read as latin-1", "encoding: utf-8"):
        read_gmb_csv(gmb, {})
    assert read_gmb_csv(gmb, {"encoding": "utf-8-sig"})[0]["tokens"] == ["EU"]


# --- 4. memory on pathological input -----------------------------------------------------------

BOMB_READER = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (2**30, 2**30))
from rnnbench.data.readers import read_source
from rnnbench.errors import DataError
try:
    read_source(sys.argv[1], sys.argv[2], {})
except DataError as err:
    print("DataError:", err)
    sys.exit(3)
print("read without error")
"""


def _zeros_gz(path: Path, megabytes: int) -> Path:
    """``megabytes`` MB of zero bytes (no line break at all), gzip-compressed (~50 KB)."""
    chunk = b"\0" * 2**20
    with gzip.open(path, "wb", compresslevel=9) as handle:
        for _ in range(megabytes):
            handle.write(chunk)
    return path


@pytest.mark.parametrize("fmt", ["conll", "sentiment_table", "gmb_csv"])
def test_a_gzip_bomb_fails_with_a_short_message_under_a_1_gib_memory_limit(
    tmp_path: Path, fmt: str
) -> None:
    bomb = _zeros_gz(tmp_path / "bomb.csv.gz", 50)
    assert bomb.stat().st_size < 1_000_000
    result = subprocess.run(
        [sys.executable, "-c", BOMB_READER, fmt, str(bomb)], capture_output=True, text=True
    )
    assert result.returncode == 3, result.stderr[-2000:]
    assert "MemoryError" not in result.stdout + result.stderr
    message = result.stdout
    assert "bomb.csv.gz: line 1 is longer than 4,194,304 bytes" in message
    assert "max_line_bytes" in message and len(message) < 600


def test_a_1_mb_review_is_read_and_not_a_raw_csv_field_limit_error(tmp_path: Path) -> None:
    review = "word " * 200_000  # 1 MB, far over csv's default 128 KiB field limit
    path = _tsv(tmp_path / "long.tsv", ["text\tlabel", f"{review}\t1", "short\t0"])
    records = read_sentiment_table(path, BINARY)
    assert records[0]["text"] == review and records[1]["label"] == "0"


def test_a_line_over_max_line_bytes_fails_naming_the_line_with_an_excerpt(tmp_path: Path) -> None:
    review = "word " * 200_000
    path = _tsv(tmp_path / "long.tsv", ["text\tlabel", "short\t0", f"{review}\t1"])
    with pytest.raises(DataError) as info:
        read_sentiment_table(path, {"max_line_bytes": 100_000})
    message = str(info.value)
    assert "long.tsv: line 3 is longer than 100,000 bytes" in message
    assert "b'word word" in message and len(message) < 500


def test_a_quoted_field_over_the_limit_fails_clearly_not_with_a_raw_csv_error(
    tmp_path: Path,
) -> None:
    # Short lines, but one quoted field spanning them grows past the field limit.
    lines = ["text,label", '"opens here'] + ["x" * 1000] * 200 + ['closes",1']
    path = _tsv(tmp_path / "q.csv", lines)
    with _raises("q.csv", "line 2", "field larger than field limit", "quoting: none"):
        read_sentiment_table(path, {"max_line_bytes": 100_000})


def test_messages_show_an_excerpt_of_a_huge_line_never_all_of_it(tmp_path: Path) -> None:
    path = conll(tmp_path / "a.conll", "EU B-ORG\n" + "x" * 500_000 + "\n")
    with pytest.raises(DataError) as info:
        read_conll(path, {})
    assert "line 2 has one column 'xxxx" in str(info.value)
    assert "(500,000 characters)" in str(info.value) and len(str(info.value)) < 300


def test_an_aclimdb_review_over_the_limit_is_refused_by_member(tmp_path: Path) -> None:
    members = aclimdb_reviews(2, 2)
    members["aclImdb/train/pos/99_9.txt"] = "y" * 5000
    path = write_tar(tmp_path / "a.tar.gz", members)
    with _raises("a.tar.gz", "aclImdb/train/pos/99_9.txt", "5,000 bytes", "max_line_bytes"):
        read_aclimdb(path, {"max_line_bytes": 1024})


# --- 5. CoNLL with tabs -----------------------------------------------------------------------


def test_a_tab_separated_conll_token_keeps_its_spaces(tmp_path: Path) -> None:
    path = conll(
        tmp_path / "a.conll", "visit\tO\nNew York\tB-LOC\ntoday\tO\n\nAnn Lee\tNNP\tB-PER\n"
    )
    sentences = read_conll(path, {})
    assert sentences[0]["tokens"] == ["visit", "New York", "today"]
    assert sentences[0]["tags"] == ["O", "B-LOC", "O"]
    assert sentences[1] == {"tokens": ["Ann Lee"], "tags": ["B-PER"]}


def test_a_conll_delimiter_option_is_honoured(tmp_path: Path) -> None:
    path = conll(tmp_path / "a.conll", "New York|B-LOC\nis|O\n")
    assert read_conll(path, {"delimiter": "|"})[0]["tokens"] == ["New York", "is"]


# --- 6. YAML ----------------------------------------------------------------------------------


def _overlay_error(tmp_path: Path, overlay: str) -> str:
    base = tmp_path / "config.yaml"
    base.write_text(yaml.safe_dump(base_config()), encoding="utf-8")
    path = tmp_path / "overlay.yaml"
    path.write_text(textwrap.dedent(overlay), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        check_config_files([base, path], SCHEMA_PATH)
    return str(info.value)


def test_a_yaml_syntax_error_in_an_overlay_names_the_file_and_line(tmp_path: Path) -> None:
    message = _overlay_error(
        tmp_path,
        """\
        datasets:
          imdb:
            grid:
              hparams: {lr: 0.01
              seeds: [1]
        """,
    )
    assert "overlay.yaml: line 5, column 12" in message
    assert "opened on line 4" in message and "not valid YAML" in message


def test_yaml_boolean_label_map_keys_are_refused_with_a_hint_to_quote(tmp_path: Path) -> None:
    message = _overlay_error(
        tmp_path,
        """\
        datasets:
          imdb:
            options: {label_map: {yes: pos, no: neg}}
        """,
    )
    assert "datasets.imdb.options.label_map: key True is a boolean" in message
    assert "quote the keys" in message


def test_yaml_11_exponent_without_a_dot_names_the_key_and_the_spelling_to_use(
    tmp_path: Path,
) -> None:
    message = _overlay_error(
        tmp_path,
        """\
        datasets:
          imdb:
            grid:
              hparams: {lr: 1e-3}
        """,
    )
    assert "datasets.imdb.grid.hparams.lr: '1e-3' is a string, not a number" in message
    assert "write 1.0e-3" in message


def test_a_string_lr_fails_at_snakemake_dry_run_with_the_hint(tmp_path: Path) -> None:
    write_memory_grid(tmp_path, ["rnn"], ["adam"])
    overlay = tmp_path / "o.yaml"
    overlay.write_text("datasets:\n  mem:\n    grid:\n      hparams: {lr: 1e-3}\n")
    result = run_snakemake(tmp_path, "-n", "--configfile", str(overlay))
    assert result.returncode != 0
    assert "datasets.mem.grid.hparams.lr: '1e-3' is a string" in result.stderr + result.stdout
    assert "write 1.0e-3" in result.stderr + result.stdout


# --- 7. seeds ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "keys"),
    [
        ("datasets.imdb.grid.seeds.1", ("imdb", "grid", "seeds")),
        ("datasets.imdb.split.seed", ("imdb", "split", "seed")),
        ("datasets.memory.synthetic.seed", ("memory", "synthetic", "seed")),
    ],
)
def test_a_seed_of_2_63_names_the_key_and_the_bound(where: str, keys: tuple[str, ...]) -> None:
    config = base_config()
    dataset, section, key = keys
    value = [0, 2**63] if key == "seeds" else 2**63
    config["datasets"][dataset].setdefault(section, {})[key] = value
    message = f"{where}: 9223372036854775808 is out of range; it must be <= 4294967295"
    with _raises(message, error=ConfigError):
        validate_config(config, SCHEMA_PATH)


def test_a_huge_seed_fails_at_snakemake_dry_run(tmp_path: Path) -> None:
    write_memory_grid(tmp_path, ["rnn"], ["adam"], seeds=[0, 2**63])
    result = run_snakemake(tmp_path, "-n")
    assert result.returncode != 0
    output = result.stderr + result.stdout
    assert "datasets.mem.grid.seeds.1: 9223372036854775808 is out of range" in output


# --- 8. tar members ---------------------------------------------------------------------------


def _tar_with(path: Path, extra: tarfile.TarInfo, data: bytes = b"") -> Path:
    write_tar(path, aclimdb_reviews(2, 2), mode="w")
    with tarfile.open(path, "a") as archive:
        extra.size = len(data)
        archive.addfile(extra, io.BytesIO(data) if data else None)
    return path


@pytest.mark.parametrize(
    ("name", "kind", "expected"),
    [
        ("aclImdb/train/pos/../../../evil.txt", tarfile.REGTYPE, "contains '..'"),
        ("/etc/evil.txt", tarfile.REGTYPE, "has an absolute path"),
        ("aclImdb/train/pos/50_9.txt", tarfile.SYMTYPE, "is a link (to '/etc/passwd')"),
        ("aclImdb/train/neg/51_1.txt", tarfile.LNKTYPE, "is a link"),
    ],
)
def test_unsafe_tar_members_are_refused_by_name(
    tmp_path: Path, name: str, kind: bytes, expected: str
) -> None:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = "/etc/passwd" if kind != tarfile.REGTYPE else ""
    path = _tar_with(tmp_path / "a.tar", info, b"x" if kind == tarfile.REGTYPE else b"")
    with _raises("a.tar", repr(name), expected):
        read_aclimdb(path)
    with _raises("a.tar", repr(name), expected):  # also when read as a table's archive
        read_sentiment_table(path, {"member": "aclImdb/train/pos/0_7.txt"})


def test_an_aclimdb_tree_packed_twice_is_refused(tmp_path: Path) -> None:
    members = aclimdb_reviews(2, 2)
    twice = {**members, **{f"copy/{name}": text for name, text in members.items()}}
    with _raises(
        "twice.tar.gz",
        "'aclImdb/train/pos/0_7.txt'",
        "'copy/aclImdb/train/pos/0_7.txt'",
        "packed twice",
    ):
        read_aclimdb(write_tar(tmp_path / "twice.tar.gz", twice))


def test_a_tar_member_stored_twice_is_refused(tmp_path: Path) -> None:
    info = tarfile.TarInfo("aclImdb/train/pos/0_7.txt")
    path = _tar_with(tmp_path / "a.tar", info, b"appended again")
    with _raises("a.tar", "'aclImdb/train/pos/0_7.txt'", "stored twice"):
        read_aclimdb(path)


def test_the_member_option_picks_a_table_out_of_a_tar_gz(tmp_path: Path) -> None:
    members = {"data/README": "not a table", "data/reviews.csv": "text,label\ngood,1\nbad,0\n"}
    path = write_tar(tmp_path / "t.tar.gz", members)
    records = read_sentiment_table(path, {"member": "data/reviews.csv", **BINARY})
    assert records == [{"text": "good", "label": "1"}, {"text": "bad", "label": "0"}]
    with _raises("t.tar.gz", "holds 2 files", "member"):
        read_sentiment_table(path, {})
    with _raises("t.tar.gz", "no member 'reviews.csv'"):
        read_sentiment_table(path, {"member": "reviews.csv"})


# --- 9. duplicates across splits --------------------------------------------------------------


def test_exact_duplicate_texts_across_splits_are_counted_and_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ds = validated({"task": "sentiment", "format": "aclimdb", "url": "u", "grid": {"lengths": [5]}})
    texts = {
        "train": ["Good film.", "Bad film.", "Fine film.", "Poor film."],
        "validation": ["Great film.", "Awful film."],
        "test": ["Good film.", "Bad film.", "Great film.", "Dire film."],
    }
    split_paths, token_paths = {}, {}
    for split in SPLITS:
        split_paths[split] = str(tmp_path / "split" / f"{split}.jsonl")
        token_paths[split] = str(tmp_path / "tokens" / f"{split}.jsonl")
        records = [{"text": t, "label": ("pos", "neg")[i % 2]} for i, t in enumerate(texts[split])]
        write_jsonl_atomic(split_paths[split], records)
        tokenize_split(ds, split_paths[split], token_paths[split])
    build_vocab_file(ds, token_paths, tmp_path / "vocab.json")
    with caplog.at_level(logging.WARNING, logger="rnnbench.data"):
        write_text_datacard(
            "imdb", ds, split_paths, token_paths, tmp_path / "vocab.json", tmp_path / "card.json"
        )
    card = json.loads((tmp_path / "card.json").read_text())
    assert card["duplicates_across_splits"] == {
        "train_validation": 0,
        "train_test": 2,
        "validation_test": 1,
    }
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("2 test example(s) have exactly the text of a train example" in w for w in warnings)
    assert any(
        "1 test example(s) have exactly the text of a validation example" in w for w in warnings
    )
