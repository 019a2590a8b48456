"""Config names (issue 24, family 6): a `published` entry naming what the config does not
train fails when the workflow is parsed, with a "did you mean" for a typo."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import SCHEMA_PATH, base_config
from rnnbench.config import validate_config
from rnnbench.published_names import TASK_METRICS, did_you_mean, published_name_problems

pytestmark = pytest.mark.fault


def _entry(**changes: object) -> dict:
    entry = {
        "source": "Someone 2024",
        "dataset": "imdb",
        "arch": "lstm",
        "optimizer": "adam",
        "length": 120,
        "metric": "accuracy",
        "value": 0.85,
    }
    return {**entry, **changes}


def _config(*entries: dict) -> dict:
    imdb = {
        "task": "sentiment",
        "format": "aclimdb",
        "url": "imdb.tar.gz",
        "grid": {"archs": ["cnn", "lstm"], "optimizers": ["adam"], "lengths": [120]},
    }
    gmb = {
        "task": "ner",
        "format": "gmb_csv",
        "url": "gmb.csv",
        "grid": {"archs": ["lstm"], "optimizers": ["adam"], "lengths": [104]},
    }
    config = {"datasets_to_run": ["imdb"], "datasets": {"imdb": imdb, "gmb": gmb}}
    validate_config(config, SCHEMA_PATH)  # the schema's defaults, as the workflow has them
    return {**config, "published": list(entries)}


def test_names_the_config_has_pass() -> None:
    ner = _entry(dataset="gmb", length=104, metric="entity_f1", extra_metrics=["token_accuracy"])
    assert published_name_problems(_config(_entry(), ner)) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"dataset": "imbd"}, "published.0 (Someone 2024).dataset: 'imbd' is not a configured dataset; did you mean 'imdb'?"),
        ({"arch": "gru"}, "published.0 (Someone 2024).arch: 'gru' is not in the grid of datasets.imdb (the config has ['cnn', 'lstm'])"),
        ({"optimizer": "adamw"}, ".optimizer: 'adamw' is not in the grid of datasets.imdb; did you mean 'adam'?"),
        ({"length": 200}, ".length: 200 is not in the grid of datasets.imdb"),
        ({"metric": "acuracy"}, ".metric: 'acuracy' is not a test metric of task 'sentiment'; did you mean 'accuracy'?"),
        ({"metric": "entity_f1"}, ".metric: 'entity_f1' is not a test metric of task 'sentiment'"),
        ({"extra_metrics": ["f1", "aucc"]}, ".extra_metrics.1: 'aucc' is not a test metric of task 'sentiment'; did you mean 'auc'?"),
    ],
)  # fmt: skip
def test_a_name_the_config_lacks_is_named_with_a_did_you_mean(changes: dict, expected: str) -> None:
    problems = published_name_problems(_config(_entry(**changes)))
    assert len(problems) == 1 and expected in problems[0], problems


def test_a_control_cell_the_config_lacks_is_named() -> None:
    control = _entry(control={"dataset": "gmb"})  # gmb's grid has no length 120
    problems = published_name_problems(_config(control))
    assert problems == [
        "published.0 (Someone 2024).control.length: 120 is not in the grid of datasets.gmb "
        "(the config has [104])"
    ]
    typo = _entry(control={"dataset": "imbd"})
    assert "did you mean 'imdb'?" in published_name_problems(_config(typo))[0]


def test_no_hint_without_a_close_name() -> None:
    assert did_you_mean("transformer", ["cnn", "lstm"]) == ""


def test_the_metric_names_are_those_the_training_job_writes() -> None:
    from rnnbench.metrics import memory_metrics, sentiment_metrics, tag_sequence_metrics

    logits = np.array([0.5, -1.0, 2.0, -0.2])
    labels = np.array([1, 0, 1, 1])
    assert set(TASK_METRICS["sentiment"]) == {"loss", *sentiment_metrics(labels, logits)}
    assert set(TASK_METRICS["memory"]) == {"loss", *memory_metrics(labels, logits)}
    rows = [["B-per", "O", "B-geo"], ["O", "O"]]
    ner = tag_sequence_metrics(rows, rows)
    assert set(TASK_METRICS["ner"]) == {"loss", *(k for k in ner if k != "per_type")}


def test_the_shipped_configs_name_only_what_they_train() -> None:
    config = base_config()
    validate_config(config, SCHEMA_PATH)
    assert published_name_problems(config) == []


@pytest.mark.slow
def test_a_misspelt_published_name_fails_at_snakemake_dry_run(tmp_path) -> None:
    import yaml

    from conftest import run_snakemake, write_memory_grid

    write_memory_grid(tmp_path, ["lstm"], ["adam"])
    entry = _entry(dataset="mme", arch="lstm", length=12)
    overlay = tmp_path / "published.yaml"
    overlay.write_text(yaml.safe_dump({"published": [entry]}))
    result = run_snakemake(tmp_path, "-n", "--configfile", str(overlay))
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "published.0 (Someone 2024).dataset: 'mme' is not a configured dataset" in output
    assert "did you mean 'mem'?" in output
    entry = _entry(dataset="mem", length=12, metric="acc")
    overlay.write_text(yaml.safe_dump({"published": [entry]}))
    result = run_snakemake(tmp_path, "-n", "--configfile", str(overlay))
    assert result.returncode != 0
    assert ".metric: 'acc' is not a test metric of task 'memory'" in result.stdout + result.stderr


# --- rnnbench progress: where it looked for the config, and a preset alone ----------------


def _progress(*argv: str) -> int:
    from rnnbench.cli import main

    return main(["progress", *argv])


def test_progress_outside_the_workflow_directory_says_where_it_looked(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert _progress() != 0
    err = capsys.readouterr().err
    assert f"no config.yaml in {tmp_path}" in err and f"looked for {tmp_path}/config.yaml" in err
    assert "-d DIR" in err and "rnnbench progress [-d DIR] presets/NAME.yaml" in err
    assert _progress("presets/quick.yaml") != 0  # a preset, but from the wrong directory
    err = capsys.readouterr().err
    assert "config file presets/quick.yaml: not found" in err and "-d DIR" in err


def test_progress_with_an_overlay_alone_names_the_files_and_the_way_out(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import yaml

    monkeypatch.chdir(tmp_path)
    (tmp_path / "preset.yaml").write_text(yaml.safe_dump({"datasets": {"x": {"grid": {}}}}))
    assert _progress("--configfile", "preset.yaml") != 0
    err = capsys.readouterr().err
    assert "invalid config" in err and "datasets.x" in err
    assert "(config read from preset.yaml)" in err
    assert "so the overlays alone were read" in err and "-d DIR" in err


def test_progress_accepts_a_preset_alone(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from conftest import REPO_ROOT

    monkeypatch.chdir(tmp_path)
    assert _progress("-d", str(REPO_ROOT), "presets/quick.yaml") == 0
    captured = capsys.readouterr()
    assert f"config: {REPO_ROOT}/config.yaml + {REPO_ROOT}/presets/quick.yaml" in captured.err
    assert " cells: " in captured.out and "waiting" in captured.out


@pytest.mark.slow
def test_a_failed_data_stage_job_shows_its_message_on_the_terminal(tmp_path) -> None:

    from conftest import prepare_table_corpus

    rows = ["text\tlabel"] + [f"review {i}\t{('neg', 'pos', '')[i % 3]}" for i in range(30)]
    (tmp_path / "reviews.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = prepare_table_corpus(tmp_path, "reviews.tsv")
    assert result.returncode != 0
    # The split job's own message (the end of logs/prepare/t/split.log), not only its path:
    assert "10 row(s) have an empty label (line 4, line 7" in result.stderr, result.stderr[-3000:]
