# SigmaSight: the two commands a new user needs are `make run` and `make test`.
# `make help` lists the targets: each has a `## target: text` line above it.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Where `make run` listens (daphne -b HOST -p PORT). HOST=0.0.0.0 serves other machines too.
HOST ?= 127.0.0.1
PORT ?= 8000
# A bare `make` prints the help rather than building the first target (the virtualenv).
.DEFAULT_GOAL := help

# Production-like services for the test suite: PostgreSQL and Redis on this machine.
# TEST_DB / TEST_REDIS_DB let two checkouts test side by side without sharing state.
TEST_DB ?= sigmasight
TEST_REDIS_DB ?= 9
TEST_ENV := DATABASE_URL=postgres://postgres@127.0.0.1:5432/$(TEST_DB) \
	REDIS_URL=redis://127.0.0.1:6379/$(TEST_REDIS_DB) \
	SECRET_KEY=test-only-secret-key-not-for-production-$$(whoami) \
	DEBUG=false \
	SIGMASIGHT_REQUIRE_SERVICES=1

# `make serve`: the production stack on this machine's PostgreSQL and Redis.
SERVE_DB ?= sigmasight_serve
SERVE_REDIS_DB ?= 1
SERVE_ENV := DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/$(SERVE_DB)} \
	REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/$(SERVE_REDIS_DB)} \
	DEBUG=false HOST=$(HOST) PORT=$(PORT)

RUNTIME_STAMP := $(VENV)/.runtime-$(shell cat requirements.txt | md5sum | cut -c1-10)
DEV_STAMP := $(VENV)/.dev-$(shell cat requirements.txt requirements-dev.txt | md5sum | cut -c1-10)

.PHONY: help run serve test install install-dev lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || (rm -rf $(VENV) && sleep 2 && $(PYTHON) -m venv $(VENV))
	$(BIN)/pip install --quiet --upgrade pip

$(RUNTIME_STAMP): requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(RUNTIME_STAMP)

## help: list the targets and the variables they read.
help:
	@echo "SigmaSight: make <target> [VARIABLE=value ...]"
	@echo
	@grep -E '^## [a-z-]+: ' $(MAKEFILE_LIST) | sed -E 's/^## ([a-z-]+): /\1\t/' \
		| awk -F '\t' '{ printf "  %-12s %s\n", $$1, $$2 }'
	@echo
	@echo "Variables (current value):"
	@printf '  %-28s %s\n' \
		"HOST=$(HOST) PORT=$(PORT)" "where make run listens (HOST=0.0.0.0 for other machines)" \
		"TEST_DB=$(TEST_DB)" "the PostgreSQL database of make test and make bench" \
		"TEST_REDIS_DB=$(TEST_REDIS_DB)" "their Redis database number" \
		"VENV=$(VENV) PYTHON=$(PYTHON)" "the virtualenv, and the interpreter that creates it"

## install: create .venv and install the runtime requirements.
install: $(RUNTIME_STAMP)

## install-dev: install the runtime and the test/lint requirements.
install-dev: $(DEV_STAMP)

## run: the embedded demo: migrate, seed, run the batch once, serve HTTP + WebSockets on HOST:PORT.
run: install
	@HOST=$(HOST) PORT=$(PORT) VENV=$(VENV) scripts/run.sh

## serve: the production stack here: migrate, N web processes (WEB_CONCURRENCY) + WebSockets on HOST:PORT, a Celery worker and beat, on PostgreSQL and Redis; SEED_DEMO=1 seeds the demo.
serve: install
	SIGMASIGHT_DB_NAME=$(SERVE_DB) scripts/ensure_services.sh
	@mkdir -p .local; if [ -z "$${SECRET_KEY:-}" ] && [ ! -s .local/serve_secret_key ]; then \
		umask 077; $(BIN)/python -c "import secrets; print(secrets.token_urlsafe(50))" > .local/serve_secret_key; fi
	$(SERVE_ENV) SECRET_KEY_FILE=$${SECRET_KEY_FILE:-$$PWD/.local/serve_secret_key} $(BIN)/python scripts/serve.py

## test: start PostgreSQL and Redis if needed, install pdftoppm and chromium if missing, then ruff, ruff format --check, mypy, pytest.
test: install-dev
	SIGMASIGHT_DB_NAME=$(TEST_DB) scripts/ensure_services.sh
	scripts/ensure_test_tools.sh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python scripts/check_imports.py
	$(TEST_ENV) $(BIN)/python -m pytest

## lint: ruff check, ruff format --check and mypy, without the tests.
lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python scripts/check_imports.py

## format: format the code and fix what ruff can fix.
format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## bench: run the bench/ scripts against PostgreSQL and Redis; they print figures.
bench: install-dev
	SIGMASIGHT_DB_NAME=$(TEST_DB) scripts/ensure_services.sh
	# In-process benchmarks; bench_load.py and bench_websockets.py measure a running server.
	for script in $(filter-out bench/bench_load.py bench/bench_websockets.py,$(wildcard bench/bench_*.py)); do \
		$(TEST_ENV) $(BIN)/python $$script || exit 1; done

## clean: remove .venv, .local (the demo database and secret key) and the caches.
clean:
	rm -rf $(VENV) .local .pytest_cache .mypy_cache .ruff_cache
