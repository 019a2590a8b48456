"""Common corpus layouts read by config alone: per-split reader options (a test file whose
columns are named and ordered differently) and JSON Lines. The config goes through
validation and the split rule's params (stage_options), as in the workflow."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import SCHEMA_PATH, table, validated
from rnnbench.config import stage_options, validate_config
from rnnbench.data.readers import read_jsonl
from rnnbench.data.stages import split_dataset
from rnnbench.errors import ConfigError, DataError
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
