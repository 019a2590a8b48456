"""Published vs measured: the verdicts on a synthetic runs table, the HTML, the command."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats as sps

from conftest import SCHEMA_PATH, base_config
from rnnbench.analysis.collect import AnalysisError
from rnnbench.analysis.published import (
    INCONCLUSIVE,
    MIN_SEEDS,
    NOT_CREDIBLE,
    NOT_MEASURED,
    NOT_REPRODUCED,
    REPRODUCED,
    inconclusive,
    normalize_entry,
    published_vs_measured,
    verdict,
)
from rnnbench.analysis.published_page import render_html, write_published
from rnnbench.cli import main as cli_main
from rnnbench.config import validate_config
from rnnbench.errors import ConfigError


def _runs() -> pd.DataFrame:
    """One row per run, with the runs.csv columns the table reads."""
    rows = []

    def add(dataset, arch, optimizer, length, scores, flags="", **extra):
        for seed, score in enumerate(scores):
            rows.append(
                {
                    "dataset": dataset,
                    "task": "memory" if dataset == "mem" else "sentiment",
                    "arch": arch,
                    "optimizer": optimizer,
                    "length": length,
                    "seed": seed,
                    "status": "ok" if score == score else "diverged",
                    "flags": flags if isinstance(flags, str) else flags[seed],
                    "test_headline": score,
                    "test_accuracy": score,
                    **{k: v[seed] for k, v in extra.items()},
                }
            )

    add("imdb", "flatten", "adam", 120, [0.809, 0.81, 0.811])  # narrow CI
    add("imdb", "bilstm", "adam", 120, [0.70, 0.80, 0.90])  # wide CI
    add("imdb", "cnn", "adam", 120, [0.90, 0.91, 0.92])  # narrow CI, far off
    add("imdb", "rnn_cell", "adam", 120, [0.81])  # one seed: no CI
    add("imdb", "gru_cell", "adam", 120, [0.80, 0.82])  # two seeds
    add("imdb", "lstm_cell", "adam", 120, [0.80, 0.81, math.nan], flags="diverged")
    add("mem", "rnn", "adam", 100, [0.532] * 3)  # |diff| is 0.02 up to float noise
    add("mem", "lstm", "adam", 150, [0.95, 0.96, 0.94])
    add("mem", "lstm", "adam", 200, [0.80, 0.80, 0.81])
    add("mem", "lstm", "adam", 250, [0.95, 0.90, 0.50])  # two solve it, one at chance
    add("imdb", "rnn", "adam", 200, [0.50, 0.50], flags=["stuck;degenerate", "degenerate"])
    add("imdb", "gru", "sgd", 120, [math.nan], flags="diverged")
    rows_ner = {
        "test_token_accuracy": [0.95, 0.96],
        "test_entity_f1": [0.70, 0.80],
    }
    add("gmb", "lstm", "adam", 104, [math.nan, math.nan], **rows_ner)
    frame = pd.DataFrame(rows)
    frame.loc[frame["dataset"] == "gmb", "test_accuracy"] = math.nan
    frame.loc[frame["dataset"] == "gmb", "test_headline"] = frame["test_entity_f1"]
    return frame


def _entry(dataset="imdb", arch="flatten", optimizer="adam", length=120, value=0.80, **kw):
    return {
        "source": "Someone 2024",
        "dataset": dataset,
        "arch": arch,
        "optimizer": optimizer,
        "length": length,
        "metric": "accuracy",
        "value": value,
        **kw,
    }


def _one(entry: dict, tolerance: float = 0.02) -> dict:
    table = published_vs_measured(_runs(), [entry], tolerance)
    assert len(table) == 1
    return table.iloc[0].to_dict()


def test_reproduced_within_tolerance() -> None:
    row = _one(_entry(value=0.80))
    assert row["verdict"] == REPRODUCED
    assert row["measured"] == pytest.approx(0.81)
    assert row["difference"] == pytest.approx(0.01)
    assert row["n_seeds"] == row["n_scored"] == 3
    assert not row["ci_low"] <= 0.80 <= row["ci_high"]  # decided by the mean
    assert _one(_entry(value=0.80), tolerance=0.005)["verdict"] == NOT_REPRODUCED


def test_tolerance_boundary_is_inclusive_despite_float_noise() -> None:
    row = _one(_entry("mem", "rnn", length=100, value=0.512))
    assert abs(row["difference"]) > 0.02  # 0.020000000000000018
    assert row["verdict"] == REPRODUCED


def test_inconclusive_below_three_seeds() -> None:
    assert MIN_SEEDS == 3
    one = _one(_entry(arch="rnn_cell", value=0.81))  # agrees exactly, but one seed
    assert one["verdict"] == "inconclusive (1 seed)" == inconclusive(1)
    assert math.isnan(one["ci_low"]) and math.isnan(one["ci_high"])  # one seed: no CI
    assert _one(_entry(arch="rnn_cell", value=0.50))["verdict"] == "inconclusive (1 seed)"
    two = _one(_entry(arch="gru_cell", value=0.81))
    assert two["verdict"] == "inconclusive (2 seeds)"
    # Three runs, one diverged: two scored seeds decide nothing either.
    diverged = _one(_entry(arch="lstm_cell", value=0.805))
    assert (diverged["n_seeds"], diverged["n_scored"]) == (3, 2)
    assert diverged["verdict"] == "inconclusive (2 seeds)"
    # A bound too, and not credible still wins.
    bound = _entry(arch="gru_cell", relation="at_least", value=0.5)
    assert _one(bound)["verdict"] == "inconclusive (2 seeds)"
    assert _one(_entry(arch="rnn_cell", credible=False, reason="r"))["verdict"] == (
        f"{NOT_CREDIBLE}: r"
    )


def test_inconclusive_when_the_interval_spans_both_outcomes() -> None:
    wide = "inconclusive (3 seeds: interval spans both outcomes)"
    row = _one(_entry(arch="bilstm", value=0.75))
    lo, hi = sps.t.interval(0.95, 2, loc=0.8, scale=0.1 / math.sqrt(3))
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((lo, hi))
    assert row["difference"] == pytest.approx(0.05)  # beyond the tolerance...
    assert row["verdict"] == wide  # ...but the interval holds the published value
    assert row["verdict"] == inconclusive(3, wide=True)
    # Even a mean equal to the published value decides nothing with that interval.
    assert _one(_entry(arch="bilstm", value=0.80))["verdict"] == wide
    # A bound: the interval reaches it and falls far below it.
    bound = _one(_entry("mem", "lstm", length=250, relation="at_least", value=0.90))
    assert bound["ci_low"] < 0.88 and bound["ci_high"] >= 0.90
    assert bound["verdict"] == wide


def test_verdict_rule_on_hand_made_intervals() -> None:
    entry = normalize_entry(_entry(value=0.80))

    def rule(mean: float, lo: float, hi: float, n: int = 5, **kw: str) -> str:
        return verdict(normalize_entry(_entry(value=0.80, **kw)), mean, lo, hi, n_scored=n)

    assert rule(0.805, 0.79, 0.82) == REPRODUCED  # holds 0.80, inside [0.78, 0.82]
    assert rule(0.81, 0.77, 0.85).startswith(INCONCLUSIVE)  # holds 0.80, and 0.85
    assert rule(0.79, 0.77, 0.81).startswith(INCONCLUSIVE)  # holds 0.80, and 0.77
    assert rule(0.815, 0.805, 0.825) == REPRODUCED  # misses 0.80: the mean decides
    assert rule(0.83, 0.81, 0.85) == NOT_REPRODUCED  # misses 0.80, mean beyond 0.02
    assert rule(0.83, 0.83, 0.83) == NOT_REPRODUCED  # identical seeds: a point interval
    assert rule(0.81, 0.77, 0.85, n=2) == "inconclusive (2 seeds)"
    assert rule(0.6, math.nan, math.nan, n=0) == NOT_MEASURED
    # at_least 0.80 fails only below 0.78; at_most 0.80 only above 0.82.
    assert rule(0.95, 0.79, 1.1, relation="at_least") == REPRODUCED
    assert rule(0.79, 0.70, 0.88, relation="at_least").startswith(INCONCLUSIVE)
    assert rule(0.75, 0.72, 0.78, relation="at_least") == NOT_REPRODUCED
    assert rule(0.79, 0.70, 0.81, relation="at_most") == REPRODUCED
    assert rule(0.81, 0.79, 0.90, relation="at_most").startswith(INCONCLUSIVE)
    assert verdict(entry, 0.81, 0.79, 0.82, n_scored=3) == REPRODUCED


def test_memory_cells_report_the_solved_fraction() -> None:
    mixed = _one(_entry("mem", "lstm", length=250, relation="at_least", value=0.90))
    assert mixed["measured"] == pytest.approx(0.7833, abs=1e-4)
    assert mixed["solved"] == "2/3 solved (acc >= 0.9)"  # 0.90 itself solves it
    assert _one(_entry("mem", "lstm", length=150))["solved"] == "3/3 solved (acc >= 0.9)"
    assert _one(_entry("mem", "rnn", length=100))["solved"] == "0/3 solved (acc >= 0.9)"
    assert _one(_entry())["solved"] == ""  # not the memory task
    page = render_html(published_vs_measured(_runs(), [_entry("mem", "lstm", length=250)]))
    assert ">solved</th>" in page and ">2/3</td>" in page  # the threshold: in the legend
    assert "accuracy &ge; 0.9" in page  # the legend states the threshold
    assert ">solved</th>" not in render_html(published_vs_measured(_runs(), [_entry()]))


def test_not_reproduced() -> None:
    row = _one(_entry(arch="cnn", value=0.83))
    assert row["measured"] == pytest.approx(0.91)
    assert row["difference"] == pytest.approx(0.08)
    assert not row["ci_low"] <= 0.83 <= row["ci_high"]
    assert row["verdict"] == NOT_REPRODUCED  # better than published is still a difference


def test_not_credible_keeps_the_measurement_and_the_flags() -> None:
    reason = "the loss stays at ln 2 while accuracy reads 0.99"
    row = _one(_entry(arch="rnn", length=200, value=0.9967, credible=False, reason=reason))
    assert row["verdict"] == f"{NOT_CREDIBLE}: {reason}"
    assert row["measured"] == pytest.approx(0.50)
    assert row["difference"] == pytest.approx(0.50 - 0.9967)
    assert row["flags"] == "stuck;degenerate"  # union over seeds, in FLAGS order
    # Not credible wins even where the numbers happen to agree.
    agree = _one(_entry(value=0.81, credible=False, reason="padding counted"))
    assert agree["verdict"].startswith(NOT_CREDIBLE)


def test_not_measured() -> None:
    absent = _one(_entry(arch="lstm"))  # no such cell
    assert absent["verdict"] == NOT_MEASURED
    assert absent["n_seeds"] == 0 and math.isnan(absent["measured"])
    assert math.isnan(absent["difference"])
    diverged = _one(_entry(arch="gru", optimizer="sgd"))  # a run, but no finite score
    assert diverged["verdict"] == NOT_MEASURED
    assert diverged["n_seeds"] == 1 and diverged["flags"] == "diverged"


def test_published_bounds() -> None:
    at_least = {"relation": "at_least", "value": 0.90}
    assert _one(_entry("mem", "lstm", length=150, **at_least))["verdict"] == REPRODUCED
    assert _one(_entry("mem", "lstm", length=200, **at_least))["verdict"] == NOT_REPRODUCED
    at_most = {"relation": "at_most", "value": 0.52}
    assert _one(_entry("mem", "rnn", length=100, **at_most))["verdict"] == REPRODUCED
    assert _one(_entry("mem", "lstm", length=150, **at_most))["verdict"] == NOT_REPRODUCED


def test_other_metric_and_extra_metrics() -> None:
    entry = _entry(
        "gmb",
        "lstm",
        length=104,
        value=0.9913,
        metric="token_accuracy",
        credible=False,
        reason="padding counted",
        extra_metrics=["entity_f1"],
    )
    row = _one(entry)
    assert row["metric"] == "token_accuracy"
    assert row["measured"] == pytest.approx(0.955)
    assert row["also_measured"] == "entity_f1 0.7500"


def test_rows_keep_the_config_order_and_columns() -> None:
    entries = [_entry(arch="cnn"), _entry(arch="flatten"), _entry(arch="lstm")]
    table = published_vs_measured(_runs(), entries)
    assert table["arch"].tolist() == ["cnn", "flatten", "lstm"]
    assert table.columns[:16].tolist() == [
        "source",
        "dataset",
        "arch",
        "optimizer",
        "length",
        "metric",
        "published",
        "measured",
        "solved",
        "n_seeds",
        "n_scored",
        "ci_low",
        "ci_high",
        "difference",
        "flags",
        "verdict",
    ]
    assert published_vs_measured(_runs(), []).empty


def test_unknown_metric_is_an_error_naming_it() -> None:
    with pytest.raises(AnalysisError, match="test_acuracy"):
        published_vs_measured(_runs(), [_entry(metric="acuracy")])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"credible": False}, "reason"),
        ({"relation": "about"}, "relation"),
        ({"value": "0.8"}, "value"),
        ({"length": 0}, "length"),
        ({"metric": "test accuracy"}, "metric"),
        ({"seeds": [0]}, "unknown"),
    ],
)
def test_bad_entries_are_rejected(change: dict, message: str) -> None:
    with pytest.raises(AnalysisError, match=message):
        normalize_entry(_entry(**change))
    entry = _entry()
    del entry["value"]
    with pytest.raises(AnalysisError, match="missing"):
        normalize_entry(entry)


def test_html_renders_every_verdict_self_contained(tmp_path: Path) -> None:
    entries = [
        _entry(value=0.80, note="validation <was> the test split"),
        _entry(arch="cnn", value=0.83),
        _entry(arch="rnn", length=200, value=0.99, credible=False, reason="loss at ln 2"),
        _entry(arch="lstm"),
        _entry("mem", "lstm", length=150, relation="at_least", value=0.9),
        _entry(arch="bilstm", value=0.75),
    ]
    table = published_vs_measured(_runs(), entries)
    page = render_html(table, "Published vs measured")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<script" not in page and "http" not in page  # self-contained
    for cls in ("reproduced", "not-reproduced", "not-credible", "not-measured", "inconclusive"):
        assert f'col0 {cls}"' in page  # every cell of the row carries its verdict's class
    assert "published value not credible: loss at ln 2" in page
    assert "validation &lt;was&gt; the test split" in page  # escaped
    assert ">\u2265 0.9</td>" in page  # a bound is shown as one
    assert 'class="legend"' in page and "stuck" in page  # legend with the flag help
    assert "+0.010" in page  # signed difference, 3 decimals
    # A short verdict, its reason in an expandable detail.
    assert "<details><summary>not credible</summary>" in page
    assert "<summary>reproduced</summary>" in page
    assert "fewer than 3 seeds" in page  # the legend explains inconclusive

    csv_path, html_path = tmp_path / "out" / "published.csv", tmp_path / "out" / "p.html"
    write_published(table, csv_path, html_path)
    back = pd.read_csv(csv_path, keep_default_na=False)
    assert back["verdict"].tolist() == table["verdict"].tolist()
    assert html_path.read_text(encoding="utf-8") == page
    assert sorted(p.name for p in csv_path.parent.iterdir()) == ["p.html", "published.csv"]

    empty = render_html(published_vs_measured(_runs(), []))
    assert "No published numbers" in empty


def test_command_line(tmp_path: Path) -> None:
    import json

    runs_csv = tmp_path / "runs.csv"
    _runs().to_csv(runs_csv, index=False)
    csv_out, html_out = tmp_path / "published.csv", tmp_path / "published.html"
    entries = [_entry(), _entry(arch="cnn", credible=False, reason="it's 'odd'")]
    argv = ["published", "--runs", str(runs_csv), "--config-json", json.dumps(entries)]
    assert cli_main([*argv, "--csv", str(csv_out), "--html", str(html_out)]) == 0
    table = pd.read_csv(csv_out)
    assert table["verdict"].tolist() == [REPRODUCED, f"{NOT_CREDIBLE}: it's 'odd'"]
    assert html_out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    bad = json.dumps([_entry(credible=False)])
    argv = ["published", "--runs", str(runs_csv), "--config-json", bad]
    assert cli_main([*argv, "--csv", str(csv_out), "--html", str(html_out)]) == 1


def test_schema_accepts_entries_and_defaults_to_none() -> None:
    config = base_config()
    validate_config(config, SCHEMA_PATH)
    assert config["published"] == []

    config = base_config()
    config["published"] = [_entry(), _entry(credible=False, reason="why", extra_metrics=["f1"])]
    validate_config(copy.deepcopy(config), SCHEMA_PATH)
    for change, message in (
        ({"credible": False}, "reason"),
        ({"arch": "mamba"}, "published.0.arch"),
        ({"relation": "about"}, "published.0.relation"),
        ({"extra": 1}, "unknown key"),
    ):
        config["published"] = [_entry(**change)]
        with pytest.raises(ConfigError, match=message):
            validate_config(copy.deepcopy(config), SCHEMA_PATH)
