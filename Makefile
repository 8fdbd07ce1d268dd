# Development tasks for tap-dynamodb.  `make help` lists them.

PYTHON ?= python3
VENV   ?= .venv
VENV_PY := $(VENV)/bin/python
PIP     := $(VENV_PY) -m pip
PYTEST_ARGS ?= -q -ra
# Test processes (pytest-xdist): each starts its own DynamoDB Local; 2 fits these 2-core machines.
PYTEST_WORKERS ?= 2
RUFF    := $(VENV)/bin/ruff
MYPY    := $(VENV)/bin/mypy
# Re-create/refresh the venv only when these change (setup.py may not exist yet).
VENV_DEPS := $(wildcard setup.py) requirements-dev.txt
VENV_STAMP := $(VENV)/.installed.stamp

.DEFAULT_GOAL := help
.PHONY: help venv install-local lint format test unit integration e2e test-matrix demo bench clean distclean

help:
	@echo "make venv           create $(VENV) and install the package + test deps"
	@echo "make install-local  install Java (if missing) and DynamoDB Local"
	@echo "make lint           ruff check, ruff format --check and mypy (settings in pyproject.toml)"
	@echo "make format         ruff check --fix, then ruff format"
	@echo "make test           all tests (starts DynamoDB Local)"
	@echo "make unit           unit tests only (no DynamoDB Local)"
	@echo "make integration    integration tests only"
	@echo "make e2e            end-to-end tests only (Meltano, target-postgres + PostgreSQL; marked slow)"
	@echo "make test-matrix    unit tests + one end-to-end sync on every CPython >= 3.9 found (MATRIX_ARGS='--versions 3.9,3.13')"
	@echo "make demo           end-to-end demo against DynamoDB Local"
	@echo "make bench          benchmarks (BENCH_ARGS='--runs 5 --million'; see docs/benchmark.md)"
	@echo "make clean          remove venv and caches (distclean: also DynamoDB Local and .test-cache)"
	@echo "Variables: PYTHON=$(PYTHON) PYTEST_ARGS='$(PYTEST_ARGS)' PYTEST_WORKERS=$(PYTEST_WORKERS)"

venv: $(VENV_STAMP)

$(VENV_STAMP): $(VENV_DEPS)
	@test -x $(VENV_PY) || { echo "+ $(PYTHON) -m venv $(VENV)"; $(PYTHON) -m venv $(VENV); }
	$(PIP) install --quiet --disable-pip-version-check --upgrade pip setuptools wheel
	$(PIP) install --quiet --disable-pip-version-check -r requirements-dev.txt
	@if [ -f setup.py ]; then \
		$(PIP) uninstall --quiet --yes tap-dynamodb >/dev/null 2>&1 || true; \
		echo "+ $(PIP) install -e '.[test]'"; \
		$(PIP) install --quiet --disable-pip-version-check -e '.[test]'; \
	else \
		echo "setup.py not found: installed requirements-dev.txt only"; \
	fi
	@touch $@

install-local:
	$(PYTHON) -m devtools.dynamodb_local install

# All three checks run even when one fails; the target fails if any did.
lint: venv
	@status=0; \
	echo "+ $(RUFF) check ."; $(RUFF) check . || status=1; \
	echo "+ $(RUFF) format --check ."; $(RUFF) format --check . || status=1; \
	echo "+ $(MYPY) tap_dynamodb"; $(MYPY) tap_dynamodb || status=1; \
	exit $$status

# Fixes first (their output is then formatted); what --fix cannot mend is listed, not fatal here.
format: venv
	$(RUFF) check --fix --exit-zero .
	$(RUFF) format .

test: venv install-local
	$(VENV_PY) -m pytest $(PYTEST_ARGS) -n $(PYTEST_WORKERS)

unit: venv
	$(VENV_PY) -m pytest $(PYTEST_ARGS) tests/unit -m "not dynamodb"

integration: venv install-local
	$(VENV_PY) -m pytest $(PYTEST_ARGS) -n $(PYTEST_WORKERS) tests/integration

e2e: venv install-local
	$(VENV_PY) -m pytest $(PYTEST_ARGS) -m slow tests/integration

# Every CPython >= 3.9 found (pyenv, python3.X on PATH), each in its own venv under
# .test-cache/matrix/<version>; see devtools/python_matrix.py. Run by .ci/run after `make test`.
test-matrix: install-local
	$(PYTHON) -m devtools.python_matrix $(MATRIX_ARGS)

demo: venv install-local
	$(VENV_PY) -m devtools.demo

bench: venv install-local
	$(VENV_PY) -m devtools.bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist *.egg-info
	find . -name __pycache__ -type d -prune -not -path './.dynamodb-local/*' -exec rm -rf {} +

distclean: clean
	rm -rf .dynamodb-local .test-cache
