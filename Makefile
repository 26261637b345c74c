# Two commands on a fresh machine: `make demo` and `make test`. Each creates .venv and installs
# what it needs itself.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-test

.PHONY: demo test lint install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

install: $(STAMP)

demo: $(STAMP)
	$(PY) -m jaxloss.demo

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Doctests run in their own process: the suite enables float64, which would change the dtypes
# the examples print.
test: lint
	JAX_NUMPY_RANK_PROMOTION=raise $(PY) -m pytest --doctest-modules jaxloss
	$(PY) -m pytest tests -n auto

clean:
	rm -rf $(VENV) .pytest_cache
