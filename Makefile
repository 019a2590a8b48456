# Quick start: `make run` (set up + run the main job), `make test` (the test suite).
# Both install into a local virtual environment first: torch from the CPU wheel, *before*
# the package, so pip never resolves the multi-GB CUDA build.
VENV ?= .venv
PYTHON ?= python3
CORES ?= 2
# The main job: the quick preset, on the real-data samples shipped in data/samples/ (no
# download, no ../shared). The full corpora: add tests/shared-data.yaml or download them.
RUN_CONFIG ?= presets/quick.yaml
# Optional extras installed with the package: `make install EXTRAS=test,trackers` adds
# TensorBoard and MLflow for `rnnbench export` (CI does).
EXTRAS ?= test

export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: install run report test lint

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet torch==2.13.0
	$(VENV)/bin/pip install --quiet -e ".[$(EXTRAS)]"
	touch $@

run: install
	snakemake --cores $(CORES) --configfile $(RUN_CONFIG)

report: install
	snakemake --configfile $(RUN_CONFIG) --report reports/report.html

test: install
	python -m pytest

lint: install
	ruff check src tests bench
	ruff format --check src tests bench
	snakefmt --check Snakefile workflow/rules/*.smk
	snakemake --lint
