# Two commands for a newcomer: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.DEFAULT_GOAL := help
.PHONY: help run test lint typecheck pytest bench bench-quick clean

help:
	@echo "make run   - install into .venv, migrate, serve on http://127.0.0.1:8000"
	@echo "make test  - install dev extras, then ruff, mypy and pytest"
	@echo "make bench - benchmarks against same-run baselines (bench-quick: reduced sizes)"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed (found $$($(PYTHON) --version))." >&2; exit 1; }
	@$(PYTHON) -m venv $(VENV) || \
		{ echo "Cannot create a virtualenv: install python3-venv (apt-get install python3-venv)." >&2; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

run: $(VENV)/.installed
	$(BIN)/travelhub serve

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

# pytest's exit code 5 means it collected no test: a failure here, never a silent pass.
pytest: $(VENV)/.installed-dev
	@$(BIN)/pytest; status=$$?; \
		if [ $$status -eq 5 ]; then echo "pytest collected no tests." >&2; exit 1; fi; \
		exit $$status

test: lint typecheck pytest

# Benchmarks judge, they do not gate: each prints ratios against a baseline measured in the
# same run and merges its figures into bench/results/latest.json.
bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench.cache
	$(BIN)/python -m bench.turns
	$(BIN)/python -m bench.growth
	$(BIN)/python -m bench.load
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.datalayer

bench-quick: $(VENV)/.installed-dev
	$(BIN)/python -m bench.cache --quick
	$(BIN)/python -m bench.turns --quick
	$(BIN)/python -m bench.growth --quick
	$(BIN)/python -m bench.load --quick
	$(BIN)/python -m bench.ingest --quick
	$(BIN)/python -m bench.datalayer --quick

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
