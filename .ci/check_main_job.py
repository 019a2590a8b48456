"""CI check: the main job's report answers its questions (issue 13's acceptance).

python .ci/check_main_job.py        # in the workflow directory, after `make run`

- every cell of runs.csv has at least 3 seeds, and no run is flagged (the main job has no
  deliberate demonstration of the sanity gate);
- IMDB: the comparison ranks the models with at least one significant difference (a model
  cell the Welch test puts below the best at p < 0.05);
- GMB: every tagger's mean entity F1 is above the most-frequent-tag baseline's;
- memory: every model cell reports its solved fraction.
"""

import sys

import pandas as pd

MIN_SEEDS = 3
problems: list[str] = []
runs = pd.read_csv("results/summary/runs.csv", keep_default_na=False)
for (dataset, arch, opt, length), group in runs.groupby(["dataset", "arch", "optimizer", "length"]):
    if len(group) < MIN_SEEDS:
        problems.append(f"{dataset}/{arch}/{opt}/len{length}: {len(group)} seeds")
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
    print("gmb_sample:", ", ".join(f"{r.arch} {r.mean:.3f}" for r in models.itertuples()),
          f"vs most-frequent tag {mft.max():.3f}")

models, _ = table("memory")
if models["solved"].isna().any():
    problems.append("memory: a model cell without its solved fraction")
print("memory:", ", ".join(f"{r.arch} len{r.length} {r.solved}" for r in models.itertuples()))

if problems:
    sys.exit("main-job check failed:\n  " + "\n  ".join(problems))
print("main job: every cell has >= 3 seeds, no flagged run, the findings hold")
