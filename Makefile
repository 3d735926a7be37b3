# `make test` and `make demo` each set themselves up on a fresh machine: `make demo`
# installs only what the demo runs (the package and its cli extra); `make test` grows the
# same venv with the dev extra.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP_STAMP := $(VENV)/.pip-stamp
DEMO_STAMP := $(VENV)/.demo-stamp
STAMP := $(VENV)/.installed-stamp
# pyproject.toml's [build-system] requires, installed into the venv once.
BUILD_DEPS := 'setuptools>=68'
UV := $(VENV)/bin/uv
comma := ,
# uv installs several times faster than pip, and the first `make demo` is mostly
# installing; it comes from PyPI into the venv. Where it cannot be had, pip does the work.
install = if [ -x $(UV) ]; then \
		$(UV) pip install --quiet --python $(PY) $(1); \
	else \
		$(PY) -m pip install --quiet --no-build-isolation --check-build-dependencies $(1); \
	fi

.PHONY: test lint typecheck unit demo bench generate emulator clean

# A venv made without ensurepip is ready in a fraction of the time; the base pip
# (>= 22.3 has --python) then puts uv into it, and uv a current pip. Otherwise ensurepip.
$(PIP_STAMP): Makefile
	$(PYTHON) -m venv --without-pip $(VENV)
	if $(PYTHON) -m pip --python $(PY) install --quiet uv >/dev/null 2>&1; then \
		$(UV) pip install --quiet --python $(PY) pip $(BUILD_DEPS); \
	else \
		$(PY) -m ensurepip --default-pip && \
		$(PY) -m pip install --quiet --upgrade pip $(BUILD_DEPS); \
	fi
	touch $@

# What `make demo` and `make emulator` need.
$(DEMO_STAMP): pyproject.toml | $(PIP_STAMP)
	$(call install,-e '.[cli]')
	touch $@

# Everything: the cli extra too, so that this venv also serves `make demo`.
$(STAMP): pyproject.toml | $(PIP_STAMP)
	$(call install,-e '.[cli$(comma)dev]')
	touch $@ $(DEMO_STAMP)

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

demo: $(DEMO_STAMP)
	$(PY) examples/demo.py
	$(PY) examples/demo_cli.py

emulator: $(DEMO_STAMP)
	$(PY) -m payi_async.emulator

bench: $(STAMP)
	$(call install,-e '.[bench]')
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
