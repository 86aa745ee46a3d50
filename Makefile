# Allsak: `make up` runs the whole service desk in one process with demo data,
# `make test` runs every check that CI runs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA ?= data

.PHONY: install up test lint unit bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Allsak needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade 'pip==25.3'
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

up: install
	$(BIN)/allsak up --demo --data $(DATA)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy shared allsak
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest

bench: install
	$(BIN)/python tests/bench/mail_parse.py
	$(BIN)/python tests/bench/intake_e2e.py
	$(BIN)/python tests/bench/case_queries.py

clean:
	rm -rf $(VENV) $(DATA) .pytest_cache .mypy_cache .ruff_cache
