# Partner Central Lakehouse — `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: help setup run test test-fast bench eval lint format typecheck imports check clean checkov package warehouse-local

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	@command -v java >/dev/null || { echo "Java 17 is required (classic Spark conformance tests)"; exit 2; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip setuptools wheel
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP) ## Create .venv and install the project with pinned dependencies (idempotent)

run: $(STAMP) ## Set up, then run the end-to-end demo on embedded defaults (Sail + ./.lake)
	$(VENV)/bin/lakehouse demo

test: $(STAMP) ## Set up, then run the whole suite (Sail suite, then classic-Spark conformance in its own process)
	bash scripts/ensure_chromium.sh
	bash scripts/local_warehouse.sh install
	bash scripts/test.sh $(PYTEST_ARGS)

test-fast: $(STAMP) ## Every test not marked slow, browser, postgres or classic (under a minute)
	$(PY) -m pytest -q -p no:cacheprovider -m "not slow and not browser and not postgres and not classic" $(PYTEST_ARGS)

bench: $(STAMP) ## Run the benchmarks (rows/s, calls/s, latency, peak RSS); several minutes
	$(PY) bench/io_bench.py
	$(PY) bench/sync_bench.py
	$(PY) bench/api_bench.py
	$(PY) bench/dashboard_bench.py
	bash scripts/local_warehouse.sh install
	$(PY) bench/warehouse_bench.py --rows 50000
	$(PY) bench/dq_bench.py

warehouse-local: ## Start pgbouncer on 127.0.0.1:6432 in front of the local PostgreSQL (the local warehouse)
	bash scripts/local_warehouse.sh install
	bash scripts/local_warehouse.sh start --port 6432

eval: $(STAMP) ## Agent evaluation over the demo tenants: recall@5 and citation validity (runs the demo first if the lake is empty)
	test -d .lake/silver/opportunity || $(VENV)/bin/lakehouse demo
	$(PY) bench/agent_eval.py

checkov: ## Static security checks of terraform/ (checkov in its own .venv-checkov)
	bash scripts/checkov.sh

package: $(STAMP) ## Build the wheel and job scripts the Glue jobs reference (dist/glue)
	$(VENV)/bin/lakehouse package --out dist/glue

lint: $(STAMP) ## Ruff lint and format check (rules pinned in pyproject.toml)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP) ## Apply ruff's formatter and safe fixes
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

typecheck: $(STAMP) ## mypy (strict on lakehouse/ and control_plane/)
	$(VENV)/bin/mypy

imports: $(STAMP) ## import-linter: the layering contracts of docs/architecture.md
	$(VENV)/bin/lint-imports

check: imports lint typecheck ## Every static gate CI runs before the tests

clean: ## Remove generated state (.lake, caches, build output); keeps .venv
	rm -rf .lake dist build .pytest_cache .ruff_cache test-artifacts
