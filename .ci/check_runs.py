"""CI check: every cell of the configured grid wrote a valid metrics.json.

python .ci/check_runs.py tests/shared-data.yaml tests/tiny-grid.yaml
"""

import json
import math
import sys
from pathlib import Path

from rnnbench.config import load_config, prepare_config
from rnnbench.experiment.grid import grid_cells
from rnnbench.experiment.paths import run_dir

SCHEMA = "workflow/schemas/config.schema.yaml"

REQUIRED = (
    "status",
    "spec",
    "hparams",
    "params",
    "epochs_run",
    "best_epoch",
    "seconds_per_epoch",
    "samples_per_second",
    "peak_rss_mb",
    "hardware",
    "versions",
    "initial_loss",
    "validation",
    "test",
    "majority_baseline",
)
HEADLINE = {
    "sentiment": ("accuracy", "f1", "auc"),
    "ner": ("token_accuracy", "entity_f1"),
    "memory": ("accuracy",),
}


def grid_config(overlays: list[str]) -> dict:
    """config.yaml with the overlays, merged and validated as the Snakefile does."""
    config = load_config(["config.yaml", *overlays])
    prepare_config(config, SCHEMA)
    return config


def main() -> None:
    config = grid_config(sys.argv[1:])
    problems, checked = [], 0
    for name in config["datasets_to_run"]:
        ds = config["datasets"][name]
        # Every cell as the workflow expands it (blocks, training-set sizes, folds) and
        # its run directory from the experiment core: no path template of our own.
        for cell in grid_cells(name, ds):
            path = Path(run_dir(cell)) / "metrics.json"
            checked += 1
            if not path.exists():
                problems.append(f"{path}: missing")
                continue
            metrics = json.loads(path.read_text())
            missing = [k for k in REQUIRED if k not in metrics]
            if missing:
                problems.append(f"{path}: missing keys {missing}")
            if metrics["status"] not in ("ok", "diverged"):
                problems.append(f"{path}: status {metrics['status']!r}")
            if metrics["status"] == "ok":
                for key in HEADLINE[ds["task"]]:
                    value = metrics["test"].get(key)
                    if not isinstance(value, float) or not math.isfinite(value):
                        problems.append(f"{path}: test.{key} = {value!r}")
            print(
                f"{path.parent}: {metrics['status']}, test "
                + ", ".join(
                    f"{k} {metrics['test'][k]:.4f}"
                    for k in HEADLINE[ds["task"]]
                    if metrics.get("test") and metrics["test"].get(k) is not None
                )
            )
    if problems or checked == 0:
        sys.exit("run check failed:\n  " + "\n  ".join(problems or ["no cells in the grid"]))
    print(f"{checked} runs: every metrics.json present and valid")


if __name__ == "__main__":
    main()
