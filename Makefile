# `make test` and `make demo` each set themselves up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: test lint typecheck unit demo bench generate emulator clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: $(STAMP)
	$(PY) -m mypy

generate: $(STAMP)
	$(PY) scripts/unasync.py

unit: $(STAMP)
	$(PY) -m pytest

test: lint typecheck $(STAMP)
	$(PY) scripts/unasync.py --check
	$(PY) -m pytest

demo: $(STAMP)
	$(PY) examples/demo.py
	$(PY) examples/demo_cli.py

emulator: $(STAMP)
	$(PY) -m payi_async.emulator

bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
