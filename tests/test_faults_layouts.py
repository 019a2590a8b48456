"""Common corpus layouts read by config alone: per-split reader options (a test file whose
columns are named and ordered differently) and JSON Lines. The config goes through
validation and the split rule's params (stage_options), as in the workflow."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import SCHEMA_PATH, table, validated
from rnnbench.config import validate_config
from rnnbench.data.readers import read_jsonl
from rnnbench.data.stages import split_dataset
from rnnbench.errors import ConfigError, DataError
from rnnbench.experiment.sources import stage_options
from rnnbench.io import read_jsonl as read_records

pytestmark = pytest.mark.fault


def _split(tmp_path: Path, ds: dict, sources: dict[str, Path]) -> dict[str, list[dict]]:
    """Run the split stage as the rule does: the validated config, through its params."""
    params = json.loads(stage_options(validated(ds), "task", "format", "options", "split"))
    out = tmp_path / "split"
    split_dataset("x", params, {k: str(v) for k, v in sources.items()}, out)
    return {s: read_records(out / f"{s}.jsonl") for s in ("train", "validation", "test")}


def _rows(n: int) -> list[tuple[str, str]]:
    return [
        (f"a {'good' if i % 2 else 'bad'} film {i}", "pos" if i % 2 else "neg") for i in range(n)
    ]


def test_a_test_file_with_other_column_names_and_order_is_read_by_its_split_options(
    tmp_path: Path,
) -> None:
    train = table(tmp_path / "train.csv", [["text", "label"], *map(list, _rows(20))])
    # test: tab-separated, label first, named differently, latin-1
    test_rows = [["sentiment", "review"], *[[label, text + " caf\xe9"] for text, label in _rows(6)]]
    test = table(tmp_path / "test.tsv", test_rows, delimiter="\t", encoding="latin-1")
    ds = {
        "task": "sentiment",
        "format": "sentiment_table",
        "splits": {
            "train": str(train),
            "test": {
                "url": str(test),
                "options": {
                    "text_column": "review",
                    "label_column": "sentiment",
                    "encoding": "latin-1",
                },
            },
        },
        "grid": {"lengths": [8]},
    }
    splits = _split(tmp_path, ds, {"train": train, "test": test})
    assert splits["test"][0] == {"text": "a bad film 0 caf\xe9", "label": "neg"}
    assert len(splits["test"]) == 6
    assert len(splits["train"]) + len(splits["validation"]) == 20


def test_without_its_split_options_the_other_test_file_fails_naming_the_column(
    tmp_path: Path,
) -> None:
    train = table(tmp_path / "train.csv", [["text", "label"], *map(list, _rows(20))])
    test = table(tmp_path / "test.csv", [["sentiment", "review"], ["neg", "bad"]])
    ds = {
        "task": "sentiment",
        "format": "sentiment_table",
        "splits": {"train": str(train), "test": str(test)},
        "grid": {"lengths": [8]},
    }
    with pytest.raises(DataError, match=r"test.csv: column 'text' \(option `text_column`\)"):
        _split(tmp_path, ds, {"train": train, "test": test})


def test_split_options_are_validated_by_key_path() -> None:
    cfg = {
        "datasets_to_run": ["x"],
        "datasets": {
            "x": {
                "task": "sentiment",
                "format": "sentiment_table",
                "splits": {"train": "a.csv", "test": {"url": "b.csv", "options": {"colum": 1}}},
                "grid": {"lengths": [8]},
            }
        },
    }
    with pytest.raises(
        ConfigError, match=r"datasets.x.splits.test.options: unknown key\(s\) \['colum'\]"
    ):
        validate_config(cfg, SCHEMA_PATH)


def test_split_options_are_params_of_the_split_stage_but_hashes_are_not() -> None:
    ds = validated(
        {
            "task": "sentiment",
            "format": "sentiment_table",
            "options": {"delimiter": ";"},
            "splits": {
                "train": {"url": "a.csv", "sha256": "a" * 64},
                "test": {"url": "b.csv", "options": {"text_column": "review"}},
            },
            "grid": {"lengths": [8]},
        }
    )
    params = json.loads(stage_options(ds, "options"))
    assert params["split_options"] == {
        "test": {
            **{k: v for k, v in ds["options"].items() if k != "max_line_bytes"},
            "text_column": "review",
        }
    }
    assert "a" * 64 not in json.dumps(params)


def _jsonl(path: Path, objects: list, extra: str = "") -> Path:
    path.write_text("".join(json.dumps(o) + "\n" for o in objects) + extra, encoding="utf-8")
    return path


def test_jsonl_fields_are_read_by_name(tmp_path: Path) -> None:
    objects = [
        {"id": i, "review": text, "stars": label == "pos"}
        for i, (text, label) in enumerate(_rows(20))
    ]
    train = _jsonl(tmp_path / "train.jsonl", objects, extra="\n")
    test = _jsonl(tmp_path / "test.jsonl", objects[:6])
    ds = {
        "task": "sentiment",
        "format": "jsonl",
        "options": {"text_column": "review", "label_column": "stars"},
        "splits": {"train": str(train), "test": str(test)},
        "grid": {"lengths": [8]},
    }
    splits = _split(tmp_path, ds, {"train": train, "test": test})
    assert splits["test"][:2] == [
        {"text": "a bad film 0", "label": "false"},
        {"text": "a good film 1", "label": "true"},
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"text": "ok", "label": 1', r"line 2 is not a JSON object \(Expecting"),
        ('["ok", 1]', "line 2 is a JSON list, not an object"),
        (
            '{"body": "ok", "label": 1}',
            r"line 2 has no field 'text' \(option `text_column`\); its fields are \['body', 'label'\]",
        ),
        ('{"text": "ok", "label": null}', "line 2: field 'label' is null, not a label"),
        ('{"text": 5, "label": 1}', "line 2: field 'text' is a JSON int, not a string"),
    ],
)
def test_a_bad_jsonl_line_is_named(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text('{"text": "fine", "label": 0}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=rf"a.jsonl: {message}"):
        read_jsonl(path, {})


# --- format lines: one file per class (rt-polarity.pos / rt-polarity.neg) ------------------


def _class_file(path: Path, lines: list[str], encoding: str = "latin-1") -> Path:
    path.write_bytes("".join(f"{line}\n" for line in lines).encode(encoding))
    return path


def _polarity(tmp_path: Path, n: int = 20) -> tuple[Path, Path]:
    """rt-polarity's layout: latin-1, one snippet per line, one file per class."""
    pos = [f"a moving caf\xe9 film , number {i} ." for i in range(n)]
    neg = [f"a dull film , number {i} ." for i in range(n)]
    # a blank line and a line of spaces among the snippets: skipped, counted in the log
    return (
        _class_file(tmp_path / "rt-polarity.pos", [*pos[:3], "", "   ", *pos[3:]]),
        _class_file(tmp_path / "rt-polarity.neg", neg),
    )


def _lines_split(tmp_path: Path, ds: dict) -> dict[str, list[dict]]:
    """The split stage on the class files the config names, keyed as fetch writes them."""
    from rnnbench.experiment.sources import dataset_sources

    sources = {key: Path(src["url"]) for key, src in dataset_sources("x", validated(ds)).items()}
    return _split(tmp_path, ds, sources)


def test_a_polarity_corpus_given_as_one_file_per_class_is_read_by_config_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pos, neg = _polarity(tmp_path)
    ds = {
        "task": "sentiment",
        "format": "lines",
        "classes": {"pos": str(pos), "neg": {"url": str(neg), "sha256": None}},
        "options": {"encoding": "latin-1"},
        "split": {"fractions": {"train": 0.6, "validation": 0.2, "test": 0.2}},
        "grid": {"lengths": [8]},
    }
    with caplog.at_level("INFO", logger="rnnbench.data"):
        splits = _lines_split(tmp_path, ds)
    records = [r for split in splits.values() for r in split]
    assert len(records) == 40  # the two blank lines are not examples
    assert {"text": "a moving caf\xe9 film , number 3 .", "label": "pos"} in records
    assert sum(r["label"] == "neg" for r in records) == 20
    assert [len(splits[s]) for s in ("train", "validation", "test")] == [24, 8, 8]
    assert "rt-polarity.pos: 20 example(s) of 'pos', 2 blank line(s) skipped" in caplog.text


def test_one_file_per_class_and_split_with_the_split_s_options(tmp_path: Path) -> None:
    train_pos, train_neg = _polarity(tmp_path)
    test_dir = tmp_path / "test"
    test_dir.mkdir()
    test_pos = _class_file(test_dir / "pos.txt", ["a great film"] * 3, encoding="utf-8")
    test_neg = _class_file(test_dir / "neg.txt", ["a bad film \u2013 sadly"] * 2, encoding="utf-8")
    ds = {
        "task": "sentiment",
        "format": "lines",
        "options": {"encoding": "latin-1"},
        "splits": {
            "train": {"classes": {"pos": str(train_pos), "neg": str(train_neg)}},
            "test": {
                "classes": {"pos": str(test_pos), "neg": {"url": str(test_neg)}},
                "options": {"encoding": "utf-8"},
            },
        },
        "grid": {"lengths": [8]},
    }
    splits = _lines_split(tmp_path, ds)
    assert splits["test"] == [
        {"text": "a bad film \u2013 sadly", "label": "neg"},
        {"text": "a bad film \u2013 sadly", "label": "neg"},
        *[{"text": "a great film", "label": "pos"}] * 3,
    ]
    assert len(splits["train"]) + len(splits["validation"]) == 40
    # the test files' encoding is a param of the split stage, per class file
    params = json.loads(stage_options(validated(ds), "options"))
    assert params["split_options"]["test.pos"]["encoding"] == "utf-8"


def test_a_latin_1_class_file_read_as_utf_8_names_the_line_and_the_option(tmp_path: Path) -> None:
    pos, neg = _polarity(tmp_path)
    ds = {
        "task": "sentiment",
        "format": "lines",
        "classes": {"pos": str(pos), "neg": str(neg)},
        "grid": {"lengths": [8]},
    }
    with pytest.raises(DataError, match=r"rt-polarity.pos: line 1 is not valid utf-8.*latin-1"):
        _lines_split(tmp_path, ds)


def test_class_files_are_fetched_one_source_key_each() -> None:
    from rnnbench.data.fetch import source_key
    from rnnbench.experiment.sources import dataset_sources

    ds = validated(
        {
            "task": "sentiment",
            "format": "lines",
            "splits": {
                "train": {"classes": {"pos": "tr.pos", "neg": "tr.neg"}},
                "test": {
                    "classes": {"pos": "te.pos", "neg": {"url": "te.neg", "sha256": "a" * 64}}
                },
            },
            "grid": {"lengths": [8]},
        }
    )
    sources = dataset_sources("x", ds)
    assert list(sources) == ["train.pos", "train.neg", "test.pos", "test.neg"]
    assert sources["test.neg"] == {"url": "te.neg", "sha256": "a" * 64}
    assert source_key("x", "test.neg") == "datasets.x.splits.test.classes.neg"
    assert source_key("x", "all.pos") == "datasets.x.classes.pos"


LINES = {"task": "sentiment", "format": "lines", "grid": {"lengths": [8]}}


@pytest.mark.parametrize(
    ("ds", "message"),
    [
        ({**LINES, "url": "a.txt"}, r"datasets.x.url: format 'lines' reads one file per class"),
        (LINES, r"datasets.x: format 'lines' needs either `classes"),
        (
            {**LINES, "classes": {"pos": "a", "neg": "b"}, "splits": {"train": "a", "test": "b"}},
            r"datasets.x: format 'lines' needs either .*; both are set",
        ),
        (
            {**LINES, "splits": {"train": "a.txt", "test": {"classes": {"p": "a", "n": "b"}}}},
            r"datasets.x.splits.train: format 'lines' reads one file per class",
        ),
        ({**LINES, "classes": {"pos": "a.txt"}}, r"datasets.x.classes: .*"),
        (
            {**LINES, "format": "jsonl", "url": "a", "classes": {"pos": "a", "neg": "b"}},
            r"datasets.x.classes: one file per class is `format: lines`",
        ),
        (
            {
                **LINES,
                "format": "jsonl",
                "splits": {"train": "a", "test": {"classes": {"pos": "a", "neg": "b"}}},
            },
            r"datasets.x.splits.test.classes: one file per class is `format: lines`",
        ),
        (
            {**LINES, "classes": {"pos": "a", "neg": "b"}, "split": {"folds": 1}},
            r"datasets.x.split.folds: 1 is out of range; it must be >= 2",
        ),
        (
            {
                **LINES,
                "splits": {
                    "train": {"classes": {"p": "a", "n": "b"}},
                    "test": {"classes": {"p": "c", "n": "d"}},
                },
                "split": {"folds": 5},
            },
            r"datasets.x.split.folds: k-fold cross-validation is for a corpus without a test "
            r"split, but `splits` gives its test split",
        ),
        (
            {**LINES, "format": "aclimdb", "url": "a.tgz", "split": {"folds": 5}},
            r"datasets.x.split.folds: .* aclimdb has an official train/test split",
        ),
        (
            {
                "task": "memory",
                "format": "synthetic",
                "synthetic": {"samples": {"train": 4, "validation": 4, "test": 4}},
                "split": {"folds": 5},
                "grid": {"lengths": [8]},
            },
            r"datasets.x.split.folds: the memory task is generated",
        ),
    ],
    ids=[
        "lines-with-url",
        "lines-without-classes",
        "lines-classes-and-splits",
        "lines-split-without-classes",
        "lines-one-class",
        "classes-for-jsonl",
        "split-classes-for-jsonl",
        "one-fold",
        "folds-with-a-test-split",
        "folds-for-aclimdb",
        "folds-for-memory",
    ],
)
def test_a_bad_lines_or_folds_config_names_the_key(ds: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        validated(ds)
