# Quick start on a fresh clone: `make demo`, then `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test bench lint mutation clean

install: $(STAMP)

$(STAMP): requirements.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt -c constraints.txt
	touch $(STAMP)

demo: install
	$(BIN)/python -m scripts.demo

test: install
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python -m scripts.benchmark

lint: install
	$(BIN)/ruff check .

# deliberate faults the suite must catch (scripts/mutation.py); not part of `make test`
mutation: install
	$(BIN)/python -m scripts.mutation

clean:
	rm -rf $(VENV) target dbt_packages logs
