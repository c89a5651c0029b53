# The two commands in the README: `make demo` (the main job) and `make test` (the whole suite).
# Each creates its own virtual environment from pyproject.toml; nothing is installed by hand.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
# Debian's Chromium, for the report's browser test (tests/test_report.py drives it headless).
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,bench]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

demo: $(STAMP)
	bash scripts/demo.sh

lint: $(STAMP)
	$(BIN)/ruff check evidence tests alembic scripts
	$(BIN)/ruff format --check evidence tests alembic scripts
	$(BIN)/mypy

$(CHROMIUM):
	@echo "Installing Debian's chromium for the browser tests (once; about a minute, 300 MB)..."
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null

test: lint $(CHROMIUM)
	$(BIN)/pytest -n auto

bench: $(STAMP)
	$(BIN)/python scripts/bench_ingest.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache evidence.egg-info
