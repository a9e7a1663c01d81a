# SigmaSight: the two commands a new user needs are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

# Production-like services for the test suite: PostgreSQL and Redis on this machine.
# TEST_DB / TEST_REDIS_DB let two checkouts test side by side without sharing state.
TEST_DB ?= sigmasight
TEST_REDIS_DB ?= 9
TEST_ENV := DATABASE_URL=postgres://postgres@127.0.0.1:5432/$(TEST_DB) \
	REDIS_URL=redis://127.0.0.1:6379/$(TEST_REDIS_DB) \
	SECRET_KEY=test-only-secret-key-not-for-production-$$(whoami) \
	DEBUG=false \
	SIGMASIGHT_REQUIRE_SERVICES=1

RUNTIME_STAMP := $(VENV)/.runtime-$(shell cat requirements.txt | md5sum | cut -c1-10)
DEV_STAMP := $(VENV)/.dev-$(shell cat requirements.txt requirements-dev.txt | md5sum | cut -c1-10)

.PHONY: run test install install-dev lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || (rm -rf $(VENV) && sleep 2 && $(PYTHON) -m venv $(VENV))
	$(BIN)/pip install --quiet --upgrade pip

$(RUNTIME_STAMP): requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(RUNTIME_STAMP)

install: $(RUNTIME_STAMP)

install-dev: $(DEV_STAMP)

## make run: install, migrate, seed the demo, run the batch once, serve HTTP + WebSockets.
run: install
	@HOST=$(HOST) PORT=$(PORT) VENV=$(VENV) scripts/run.sh

## make test: install, start PostgreSQL and Redis if needed, lint, type-check, run every test.
test: install-dev
	SIGMASIGHT_DB_NAME=$(TEST_DB) scripts/ensure_services.sh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python scripts/check_imports.py
	$(TEST_ENV) $(BIN)/python -m pytest

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python scripts/check_imports.py

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install-dev
	SIGMASIGHT_DB_NAME=$(TEST_DB) scripts/ensure_services.sh
	for script in bench/bench_*.py; do $(TEST_ENV) $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .local .pytest_cache .mypy_cache .ruff_cache
