"""CI check: the quick preset's report, opened in headless Chromium, shows every result.

python .ci/check_report.py reports/report.html presets/quick.yaml
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_runs import grid_config

from report_browser import walk_report
from rnnbench.experiment.grid import grid_cells
from rnnbench.experiment.tasks import SIZE_PLOT_KIND, task_of

report, overlays = Path(sys.argv[1]).resolve(), sys.argv[2:]
config = grid_config(overlays)
sections, expected, archs = [], {}, {}
for name in config["datasets_to_run"]:
    ds = config["datasets"][name]
    # The cells as the workflow expands them (grid blocks, training-set sizes).
    cells = grid_cells(name, ds)
    archs[name] = {cell["arch"] for cell in cells}
    sized = any(cell.get("train_size") is not None for cell in cells)
    kinds = list(task_of(ds["task"]).plot_kinds)
    if sized:
        kinds.append(SIZE_PLOT_KIND)
    if ds["grid"].get("tune"):
        kinds.append("lr_sensitivity")
    # comparison (table + CSV), and the memory task's solved fraction per size
    expected[(name, "Comparison")] = 2 + (sized and ds["task"] == "memory")
    expected[(name, "Data")] = 1
    expected[(name, "Figures")] = len(kinds)
    expected[(name, "Runs")] = len(cells)
expected[("Summary", None)] = 2  # runs.csv, summary.md
expected[("Published vs measured", None)] = 2 if config.get("published") else 0
sections = [key for key, count in expected.items() if count]
seen = walk_report(report, Path("results/report-screenshots"), sections)
problems = []
for key, count in expected.items():
    shown = seen.get(key, [])
    if key[1] == "Runs":
        # The report turns one label (e.g. optimizer) into a filter toggle and lists the
        # rest: the table shows one toggle value's cells, every architecture among them.
        if not shown or len(shown) > count or not set(shown) <= archs[key[0]]:
            problems.append(
                f"{key}: runs table shows {shown}, grid has {count} cells of {archs[key[0]]}"
            )
    elif count and len(shown) != count:
        problems.append(f"{key}: expected {count} results, the report shows {len(shown)}")
for key, names in seen.items():
    print(f"{key[0]} / {key[1] or '-'}: {len(names)} shown")
if problems:
    sys.exit("report check failed:\n  " + "\n  ".join(problems))
print(
    "every table and figure of the report is shown in Chromium at 1366x768 and 1920x1080, "
    "none wider than its frame (screenshots in results/report-screenshots)"
)
