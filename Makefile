# Two commands for a newcomer: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# uv installs from uv.lock; uv itself comes from PyPI into a small venv of its own.
UV_VERSION := 0.13.9
UV     := .uv/bin/uv
SYNC   := UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --locked --python $(PYTHON)

.DEFAULT_GOAL := help
.PHONY: help run test lint typecheck pytest bench bench-quick lock htmx uplot clean

help:
	@echo "make run   - install from uv.lock into .venv, migrate, serve on http://127.0.0.1:8000"
	@echo "make test  - install with the dev tools, then ruff, mypy and pytest"
	@echo "make bench - benchmarks against same-run baselines (bench-quick: reduced sizes)"
	@echo "make lock  - refresh uv.lock after a change to pyproject.toml"

$(UV):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed (found $$($(PYTHON) --version))." >&2; exit 1; }
	@$(PYTHON) -m venv .uv || \
		{ echo "Cannot create a virtualenv: install python3-venv (apt-get install python3-venv)." >&2; exit 1; }
	.uv/bin/python -m pip install --quiet "uv==$(UV_VERSION)"

# --inexact: `make run` after `make test` keeps the dev tools instead of removing them.
$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(SYNC) --no-dev --inexact
	@touch $@

$(VENV)/.installed-dev: pyproject.toml uv.lock | $(UV)
	$(SYNC)
	@touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/travelhub serve

lock: | $(UV)
	$(UV) lock

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
	$(BIN)/python -m bench.booking
	$(BIN)/python -m bench.logins
	$(BIN)/python -m bench.replay_page

bench-quick: $(VENV)/.installed-dev
	$(BIN)/python -m bench.cache --quick
	$(BIN)/python -m bench.turns --quick
	$(BIN)/python -m bench.growth --quick
	$(BIN)/python -m bench.load --quick
	$(BIN)/python -m bench.ingest --quick
	$(BIN)/python -m bench.datalayer --quick
	$(BIN)/python -m bench.booking --quick
	$(BIN)/python -m bench.logins --quick
	$(BIN)/python -m bench.replay_page --quick

# The replay pages' htmx is committed (web/static/htmx.min.js): nothing runs npm to serve them.
# This refreshes it from the version pinned in web/static/package-lock.json.
htmx:
	cd web/static && npm ci --no-audit --no-fund && cp node_modules/htmx.org/dist/htmx.min.js .

# /admin's uPlot is committed too (web/static/admin: the build, its CSS and its MIT licence);
# this refreshes them from the version pinned in web/static/admin/package-lock.json.
uplot:
	cd web/static/admin && npm ci --no-audit --no-fund --ignore-scripts && \
		cp node_modules/uplot/dist/uPlot.iife.min.js node_modules/uplot/dist/uPlot.min.css . && \
		cp node_modules/uplot/LICENSE uPlot.LICENSE

clean:
	rm -rf $(VENV) .uv .pytest_cache .mypy_cache .ruff_cache
