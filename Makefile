# Two commands on a fresh machine: `make demo` and `make test`. Each creates .venv and installs
# what it needs itself.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-test
DEMO_STAMP := $(VENV)/.installed-demo
BENCH_STAMP := $(VENV)/.installed-bench

.PHONY: demo test bench lint install clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

# The demo needs only the package and its `demo` extra (scikit-learn's digits, matplotlib).
$(DEMO_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[demo]"
	touch $@

# The benchmark peers: torch (CPU), scipy, jax-cce, pytorch-metric-learning.
$(BENCH_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[bench]"
	touch $@

install: $(STAMP)

# Trains on scikit-learn's digits; `$(PY) -m jaxloss.demo --table` prints the catalog.
demo: $(DEMO_STAMP)
	$(PY) -m jaxloss.demo

# Every benchmark group beside its peers; writes bench/results.json, bench/results.png and the
# table in bench/README.md. `$(PY) -m bench --quick` runs the same code on small shapes.
bench: $(BENCH_STAMP)
	$(PY) -m bench

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Doctests run in their own process: the suite enables float64, which would change the dtypes
# the examples print.
test: lint
	JAX_NUMPY_RANK_PROMOTION=raise $(PY) -m pytest --doctest-modules jaxloss
	$(PY) -m pytest tests -n auto

clean:
	rm -rf $(VENV) .pytest_cache demo_output
