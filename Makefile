# Developer and CI entry points. Every target installs what it needs, so `make demo` and
# `make test` work on a fresh clone with nothing but python3.11 and make.

PYTHON ?= python3.11
VENV ?= .venv
PYTEST_ARGS ?=
# Extra options for `make lock`, e.g. LOCK_ARGS=--upgrade to move every pin to the newest release.
LOCK_ARGS ?=

VENV_PYTHON := $(VENV)/bin/python
UV := $(VENV)/bin/uv
# Install re-runs only when the dependency declaration or the lock changes; lives inside the venv so
# that deleting the venv also forgets the install.
STAMP := $(VENV)/.install-stamp

# Pseudonymisation needs a key; outside production a fixed, clearly fake one keeps demo and test runs
# reproducible. Only the demo and test commands see it, and only when the caller set none.
DEMO_PSEUDONYM_KEY := demo-only-key-not-secret-never-use-in-production
WITH_DEMO_KEY := LIENTHONG_PSEUDONYM_KEY="$${LIENTHONG_PSEUDONYM_KEY:-$(DEMO_PSEUDONYM_KEY)}"

.DEFAULT_GOAL := help
.PHONY: help install demo test lint lock clean

help:
	@echo "make install  create $(VENV) and install the project with dev tools, from constraints.txt"
	@echo "make demo     run the end-to-end demo (lienthong demo)"
	@echo "make test     run the tests (PYTEST_ARGS='-k name -x' to narrow)"
	@echo "make lint     ruff"
	@echo "make lock     re-resolve constraints.txt from pyproject.toml (LOCK_ARGS=--upgrade)"
	@echo "make clean    remove $(VENV) and caches"

$(VENV_PYTHON):
	$(PYTHON) -m venv $(VENV)

# uv comes from the lock like every other tool; pip is only used to bootstrap it.
$(UV): constraints.txt | $(VENV_PYTHON)
	$(VENV_PYTHON) -m pip install --quiet --disable-pip-version-check -c constraints.txt uv
	@touch $@

$(STAMP): pyproject.toml constraints.txt $(UV)
	$(UV) pip install --python $(VENV_PYTHON) -c constraints.txt -e '.[dev]'
	@touch $@

install: $(STAMP)

demo: $(STAMP)
	$(WITH_DEMO_KEY) $(VENV)/bin/lienthong demo

# make reports any failing recipe as its own exit 2, so say here when pytest found nothing to run
# (exit 5): an empty selection must fail loudly, not look like a generic error.
test: $(STAMP)
	@status=0; $(WITH_DEMO_KEY) $(VENV_PYTHON) -m pytest $(PYTEST_ARGS) || status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests (exit 5)" >&2; fi; \
	exit $$status

lint: $(STAMP)
	$(VENV)/bin/ruff check .

lock: $(UV)
	$(UV) pip compile pyproject.toml --extra dev --universal --python-version 3.11 \
		--custom-compile-command 'make lock' $(LOCK_ARGS) -o constraints.txt

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
