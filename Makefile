# Two commands on a fresh machine: `make demo` and `make test`. Each creates .venv and installs
# what it needs itself. `make docs` builds the documentation site, `make test-floors` checks the
# built wheel against the lowest supported versions (.ci/floors.txt); .ci/run runs both.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-test
DEMO_STAMP := $(VENV)/.installed-demo
BENCH_STAMP := $(VENV)/.installed-bench
DOCS_STAMP := $(VENV)/.installed-docs
# MathJax is served by the site itself (no CDN): one file of the npm package, fetched once.
MATHJAX_VERSION := 3.2.2
MATHJAX := docs/_vendor/mathjax/tex-svg.js
FLOORS := build/floors

.PHONY: demo test bench lint typecheck docs docs-notebooks browser test-floors install clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Byte code: pip compiles every file it installs, one at a time (about 70 of the test install's
# 100 s on 2 cores), and `compileall` on both cores still took 31 s, mostly for modules no
# process imports. Instead a module is compiled when first imported and its .pyc written beside
# it (Python's default): in a fresh clone that costs the docs build 5 s and the test workers'
# collection 13 s, and every later process reads the byte code. An environment that sets
# PYTHONDONTWRITEBYTECODE=1 would make every process compile torch's sources again (10 -> 23 s
# per process), so make's commands run without it.
unexport PYTHONDONTWRITEBYTECODE
PIP_INSTALL := $(PY) -m pip install --quiet --no-compile

# The tests build the site too: the test and docs extras in one resolution (about 4 s less than
# two installs), which also makes the docs stamp.
$(STAMP): pyproject.toml | $(PY)
	$(PIP_INSTALL) -e ".[test,docs]"
	$(PIP_INSTALL) --no-deps open-clip-torch==3.3.0  # see pyproject.toml's test extra
	$(PIP_INSTALL) --no-deps lpips==0.1.4  # see pyproject.toml's test extra
	touch $(DOCS_STAMP) $@

# The demo needs only the package and its `demo` extra (flax, scikit-learn, matplotlib, tqdm).
$(DEMO_STAMP): pyproject.toml | $(PY)
	$(PIP_INSTALL) -e ".[demo]"
	touch $@

# The benchmark peers: torch (CPU), scipy, jax-cce, pytorch-metric-learning.
$(BENCH_STAMP): pyproject.toml | $(PY)
	$(PIP_INSTALL) -e ".[bench]"
	touch $@

$(DOCS_STAMP): pyproject.toml | $(PY)
	$(PIP_INSTALL) -e ".[docs]"
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

# pyright on jaxloss/ (configuration in pyproject.toml).
typecheck: $(STAMP)
	$(VENV)/bin/pyright

$(MATHJAX):
	command -v npm >/dev/null || (apt-get update -qq && apt-get install -y -qq npm)
	rm -rf docs/_build/mathjax && mkdir -p docs/_build/mathjax $(dir $@)
	cd docs/_build/mathjax && npm pack --silent mathjax@$(MATHJAX_VERSION) >/dev/null \
		&& tar xzf mathjax-$(MATHJAX_VERSION).tgz package/es5/tex-svg.js package/LICENSE
	cp docs/_build/mathjax/package/LICENSE $(dir $@)LICENSE
	cp docs/_build/mathjax/package/es5/tex-svg.js $@

# The site in docs/_build/html; any warning fails the build, and so does a public name without
# its page (docs/ext/coverage_check.py).
docs: $(DOCS_STAMP) $(MATHJAX)
	$(VENV)/bin/sphinx-build -W --keep-going -q -b html docs docs/_build/html

# Re-executes the notebooks into docs/notebooks (the site shows their stored outputs).
docs-notebooks: $(DOCS_STAMP)
	$(PY) docs/execute_notebooks.py

# Headless Chromium (Debian's package) for the test that opens the built site.
browser:
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

# The doctests of jaxloss/ run in the suite's session, in float32 (tests/package_doctests.py).
# pyright (single-threaded) runs beside the docs build (single-threaded) on the second core; its
# report and exit status come after the tests, so a type error does not hide a failing test.
test: lint browser $(STAMP) $(DOCS_STAMP)
	@mkdir -p build
	@( $(VENV)/bin/pyright > build/pyright.log 2>&1; echo $$? > build/pyright.status ) & \
	$(MAKE) docs \
	&& JAXLOSS_DOCS_BUILT=1 $(PY) -m pytest tests jaxloss -p tests.package_doctests \
		-n auto --dist worksteal --durations=40; \
	status=$$?; wait; echo "pyright:"; cat build/pyright.log; \
	test $$status -eq 0 && test "$$(cat build/pyright.status)" -eq 0

# The built wheel, installed with exactly the floor versions in a fresh venv, outside the source
# tree: every public function (tests/floor_check.py) without flax, then jaxloss.models with it.
test-floors: | $(PY)
	rm -rf $(FLOORS) && mkdir -p $(FLOORS)/check/tests
	$(PY) -m pip wheel --quiet --no-deps . -w $(FLOORS)/dist
	$(PYTHON) -m venv $(FLOORS)/venv
	$(FLOORS)/venv/bin/pip install --quiet --no-compile -c .ci/floors.txt $(FLOORS)/dist/jaxloss-*.whl
	$(FLOORS)/venv/bin/python -m compileall -q -j 0 -x '/tests?/' \
		$(FLOORS)/venv/lib/python*/site-packages > $(FLOORS)/compileall.log 2>&1 || true
	cp -r tests/__init__.py tests/registry tests/floor_check.py $(FLOORS)/check/tests/
	cd $(FLOORS)/check && ../venv/bin/python -m tests.floor_check --expect-installed --jobs 2 \
		--pins ../../../.ci/floors.txt
	$(FLOORS)/venv/bin/pip install --quiet -c .ci/floors.txt flax
	cd $(FLOORS)/check && ../venv/bin/python -m tests.floor_check --expect-installed \
		--pins ../../../.ci/floors.txt --models-only

clean:
	rm -rf $(VENV) .pytest_cache demo_output build docs/_build docs/_vendor docs/api docs/api.rst
