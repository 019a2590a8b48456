"""CI check: the data cards of the real datasets hold the published split sizes."""

import json
import sys

EXPECTED = {
    "imdb": {"train": 22500, "validation": 2500, "test": 25000},
}
GMB_SENTENCES = 47959


def examples(dataset: str) -> dict[str, int]:
    with open(f"results/prepared/{dataset}/datacard.json", encoding="utf-8") as handle:
        card = json.load(handle)
    return {split: info["examples"] for split, info in card["splits"].items()}


failures = []
for dataset, expected in EXPECTED.items():
    if (got := examples(dataset)) != expected:
        failures.append(f"{dataset}: expected {expected}, data card says {got}")
if (total := sum(examples("gmb").values())) != GMB_SENTENCES:
    failures.append(f"gmb: expected {GMB_SENTENCES} sentences in total, data card says {total}")
print("imdb:", examples("imdb"), "| gmb:", examples("gmb"), "total", sum(examples("gmb").values()))
if failures:
    sys.exit("data card check failed:\n  " + "\n  ".join(failures))
print("data cards match the published counts")
