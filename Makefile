# Dev and CI entry points. torch is pinned and installed first (on this project's machines the CPU wheel; a plain
# `torch` pulls a CUDA build). `make demo` installs the library alone; the other targets add the dev extras.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH := torch==2.13.0
DATA ?= ../shared/data/routerbench-3k
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False

.PHONY: install install-dev demo test docs lint bench quality clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q $(TORCH)
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

demo: install
	$(BIN)/scope demo --data $(DATA)

test: install-dev
	$(BIN)/python -m pytest -q

docs: install-dev
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

lint: install-dev
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench: install-dev
	$(BIN)/python benchmarks/routing_speed.py

quality: install-dev
	$(BIN)/python benchmarks/quality.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache site
