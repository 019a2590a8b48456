"""CI check: the main job's report answers its questions (issue 13's acceptance).

python .ci/check_main_job.py        # in the workflow directory, after `make run`

- every cell of runs.csv has at least 3 seeds, and no run is flagged (the main job has no
  deliberate demonstration of the sanity gate);
- IMDB: the comparison ranks the models with at least one significant difference (a model
  cell the Welch test puts below the best at p < 0.05);
- GMB: every tagger's mean entity F1 is above the most-frequent-tag baseline's;
- memory: every model cell reports its solved fraction; the memory task runs at two or
  more training-set sizes (grid.train_sizes, issue 22) and the report has the
  metric-vs-training-set-size figure, the solved-fraction table per size and the
  summary's crossing statement.
- the summary (results/summary/summary.md) answers the three questions: which model (the
  IMDB sample's best cell), which optimizer (at least 4 optimizers ranked at their tuned
  lrs on one architecture) and which length (the memory task's solved seeds per length),
  and every seed count it quotes is at least 3.
"""

import re
import sys
from pathlib import Path

import pandas as pd

MIN_SEEDS = 3
problems: list[str] = []
runs = pd.read_csv("results/summary/runs.csv", keep_default_na=False)
cell_keys = ["dataset", "arch", "optimizer", "length"]
cell_keys += ["train_size"] if "train_size" in runs else []
for key, group in runs.groupby(cell_keys):
    if len(group) < MIN_SEEDS:
        problems.append(f"{'/'.join(map(str, key))}: {len(group)} seeds")
flagged = runs[runs["flags"].astype(str).str.len() > 0]
for _, run in flagged.iterrows():
    problems.append(f"flagged run {run['dataset']}/{run['arch']}/seed{run['seed']}: {run['flags']}")


def table(dataset: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = pd.read_csv(f"results/summary/{dataset}/comparison.csv")
    return frame[frame["kind"] == "model"], frame[frame["kind"] == "baseline"]


models, _ = table("imdb_sample")
worse = models[(models["mark"].isna()) & (models["p_vs_best"] < 0.05)]
if worse.empty:
    problems.append("imdb_sample: no model cell is significantly below the best")
print("imdb_sample:", ", ".join(f"{r.arch} {r.mean:.3f} ({r.mark})" for r in models.itertuples()))

models, baselines = table("gmb_sample")
mft = baselines[baselines["arch"].str.contains("most-frequent-tag")]["mean"]
if mft.empty:
    problems.append("gmb_sample: no most-frequent-tag baseline row")
else:
    below = models[models["mean"] <= mft.max()]
    for r in below.itertuples():
        problems.append(f"gmb_sample: {r.arch} {r.mean:.3f} <= most-frequent tag {mft.max():.3f}")
    print(
        "gmb_sample:",
        ", ".join(f"{r.arch} {r.mean:.3f}" for r in models.itertuples()),
        f"vs most-frequent tag {mft.max():.3f}",
    )

models, _ = table("memory")
if models["solved"].isna().any():
    problems.append("memory: a model cell without its solved fraction")
print("memory:", ", ".join(f"{r.arch} len{r.length} {r.solved}" for r in models.itertuples()))

memory = runs[runs["dataset"] == "memory"]
sizes = sorted({s for s in memory.get("train_size", []) if str(s) != ""})
if len(sizes) < 2:
    problems.append(f"memory: trained at {len(sizes)} training-set size(s), not >= 2")
figure = Path("results/summary/memory/plots/metric_vs_train_size.svg")
if not figure.exists() or "no data" in figure.read_text(encoding="utf-8"):
    problems.append(f"memory: {figure} missing or empty")
solved = Path("results/summary/memory/solved_by_size.csv")
if not solved.exists():
    problems.append(f"memory: {solved} (solved fraction per size) missing")
else:
    table = pd.read_csv(solved, keep_default_na=False)
    if "smallest size solving" not in table or len(table.columns) < 6:
        problems.append(f"memory: {solved} lacks a column per size or the smallest size")
summary = Path("results/summary/summary.md").read_text(encoding="utf-8")
crossing = [line for line in summary.splitlines() if "Rankings across training-set sizes" in line]
if not crossing or not any(
    "overtakes" in c or "no crossing within this grid" in c for c in crossing
):
    problems.append("summary: no crossing statement for the training-set sizes")
print("memory sizes:", sizes, "|", *(c.strip("- ")[:300] for c in crossing))
sections = dict(re.findall(r"^## (\S+)\n(.*?)(?=^## |\Z)", summary, flags=re.M | re.S))
answers = {
    "which model (imdb_sample: best cell)": ("imdb_sample", r"^- Best cell: "),
    "which optimizer (>= 4 optimizers at their tuned lrs)": (
        None,
        r"^- Optimizer, ranked per architecture[^\n]*?each at its tuned lr: (?:[^|\n]*?\(\d+ seeds){4}",
    ),
    "which length (memory: solved seeds per length)": ("memory", r"^- Seeds that solve"),
}
for question, (section, pattern) in answers.items():
    texts = [sections.get(section, "")] if section else list(sections.values())
    if not any(re.search(pattern, text, flags=re.M | re.S) for text in texts):
        problems.append(f"summary.md does not answer {question}")
verdicts = [line for line in summary.splitlines() if "**not measured**" not in line]
for seeds in re.findall(r"\((\d+) seeds", "\n".join(verdicts)):
    if int(seeds) < MIN_SEEDS:
        problems.append(f"summary.md: a statement rests on {seeds} seeds (< {MIN_SEEDS})")
print("summary:", ", ".join(q.split(" (")[0] for q in answers), "checked")

if problems:
    sys.exit("main-job check failed:\n  " + "\n  ".join(problems))
print("main job: every cell has >= 3 seeds, no flagged run, the findings hold")
