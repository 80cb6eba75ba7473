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

# Pseudonymisation needs a key; in the demo a fixed, clearly fake one keeps runs reproducible. Only
# the demo commands (`make demo`, `make airflow`) see it, only when the caller set none, and they say
# they are the demo (LIENTHONG_DEMO=1): lienthong refuses this published key anywhere else. The
# tests bring their own key (tests/conftest.py).
DEMO_PSEUDONYM_KEY := demo-only-key-not-secret-never-use-in-production
# Likewise the MAC key of the landing store's manifests.
DEMO_LANDING_KEY := demo-only-landing-key-not-secret-never-use-in-production
WITH_DEMO_KEY := LIENTHONG_DEMO=1 LIENTHONG_PSEUDONYM_KEY="$${LIENTHONG_PSEUDONYM_KEY:-$(DEMO_PSEUDONYM_KEY)}" \
	LIENTHONG_LANDING_KEY="$${LIENTHONG_LANDING_KEY:-$(DEMO_LANDING_KEY)}"

.DEFAULT_GOAL := help
.PHONY: help install demo test lint lock clean airflow

help:
	@echo "make install  create $(VENV) and install the project with dev tools, from constraints.txt"
	@echo "make demo     run the end-to-end demo (lienthong demo)"
	@echo "make test     run the tests (PYTEST_ARGS='-k name -x' to narrow)"
	@echo "make lint     ruff"
	@echo "make lock     re-resolve constraints.txt from pyproject.toml (LOCK_ARGS=--upgrade)"
	@echo "make clean    remove $(VENV) and caches"
	@echo "make airflow  a local Airflow with the DAGs, the stand-ins and var/warehouse.db (Ctrl-C stops)"

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
	@status=0; $(VENV_PYTHON) -m pytest $(PYTEST_ARGS) || status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests (exit 5)" >&2; fi; \
	exit $$status

lint: $(STAMP)
	$(VENV)/bin/ruff check .

lock: $(UV)
	$(UV) pip compile pyproject.toml --extra dev --extra celery --universal --python-version 3.11 \
		--custom-compile-command 'make lock' $(LOCK_ARGS) -o constraints.txt

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

# Throughput, memory, report and delta figures (docs/performance.md); SIZE dossiers in the
# stand-in. The peer (dlt) is installed here only, from bench-constraints.txt: never a runtime
# dependency. PostgreSQL figures use BENCH_PG_URL (a database it creates and drops).
# REPORT_ROWS=N also times Phụ lục 01 after growing the PostgreSQL dossiers to N rows inside the
# server (bench/grow.py; 10,000,000 takes ~5 minutes more); 0 leaves it out.
SIZE ?= 50000
REPORT_ROWS ?= 0
.PHONY: bench
bench: $(STAMP)
	$(UV) pip install --quiet --python $(VENV_PYTHON) -c constraints.txt -c bench-constraints.txt -r bench-constraints.txt
	@# Bytecode as a pip install leaves it (uv does not compile it, and PYTHONDONTWRITEBYTECODE may
	@# forbid writing it on import): every measured process then imports at the same, normal cost.
	$(VENV_PYTHON) -m compileall -q -j 0 $(VENV)/lib bench connectors lienthong mappings simulators warehouse > /dev/null
	$(VENV_PYTHON) -m bench --size $(SIZE) --report-rows $(REPORT_ROWS)

# A local Airflow (`airflow standalone`: SQLite metadata in var/airflow) running this checkout's
# dags/ against the stand-ins, which run in the background with every source's connection pointed
# at them; the warehouse is var/warehouse.db unless LIENTHONG_WAREHOUSE_URL says otherwise.
# Ctrl-C stops Airflow and the stand-ins. docs/operations.md, "`make airflow`", shows what to do in the UI.
AIRFLOW_PORT ?= 8080
STAND_IN_PORT ?= 8765
LOCAL_AIRFLOW_HOME := $(CURDIR)/var/airflow
# Where the UI is and how to log in (the password file is made on the first run); the warehouse
# without its password.
define local_airflow_banner
import json, os
from sqlalchemy.engine import make_url
env = os.environ
password = json.load(open(env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]))["admin"]
print("Airflow UI and API: http://127.0.0.1:%s" % env["AIRFLOW__API__PORT"])
print("login: admin / %s" % password)
print("warehouse: %s" % make_url(env["LIENTHONG_WAREHOUSE_URL"]).render_as_string(True))
endef
define local_airflow_ready
import os, urllib.request
urllib.request.urlopen("http://127.0.0.1:%s/api/v2/monitor/health" % os.environ["AIRFLOW__API__PORT"], timeout=2)
endef

airflow: export LOCAL_AIRFLOW_BANNER = $(local_airflow_banner)
airflow: export LOCAL_AIRFLOW_READY = $(local_airflow_ready)
airflow: $(STAMP)
	@set -eu; \
	export PATH="$(CURDIR)/$(VENV)/bin:$$PATH" \
		AIRFLOW_HOME="$(LOCAL_AIRFLOW_HOME)" \
		AIRFLOW__CORE__DAGS_FOLDER="$(CURDIR)/dags" \
		AIRFLOW__CORE__LOAD_EXAMPLES=False \
		AIRFLOW__CORE__DEFAULT_TIMEZONE=Asia/Ho_Chi_Minh \
		AIRFLOW__API__HOST=127.0.0.1 \
		AIRFLOW__API__PORT=$(AIRFLOW_PORT) \
		AIRFLOW__CORE__EXECUTION_API_SERVER_URL=http://127.0.0.1:$(AIRFLOW_PORT)/execution/ \
		AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=admin:admin \
		AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE="$(LOCAL_AIRFLOW_HOME)/passwords.json" \
		LIENTHONG_VAR_DIR="$${LIENTHONG_VAR_DIR:-$(CURDIR)/var}" \
		LIENTHONG_WAREHOUSE_URL="$${LIENTHONG_WAREHOUSE_URL:-sqlite:///$(CURDIR)/var/warehouse.db}" \
		$(WITH_DEMO_KEY); \
	mkdir -p "$$AIRFLOW_HOME"; \
	passwords="$$AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"; \
	if [ ! -s "$$passwords" ]; then \
		(umask 077; $(VENV_PYTHON) -c 'import json, secrets; print(json.dumps({"admin": secrets.token_urlsafe(12)}))' > "$$passwords"); \
	fi; \
	log="$$AIRFLOW_HOME/stand-ins.log"; \
	lienthong simulate --port $(STAND_IN_PORT) > "$$log" 2>&1 & stand_ins=$$!; \
	trap 'kill $$stand_ins 2>/dev/null || true' EXIT INT TERM; \
	for _ in $$(seq 1 120); do \
		grep -q 'Ctrl-C to stop' "$$log" && break; \
		kill -0 $$stand_ins 2>/dev/null || { cat "$$log" >&2; exit 1; }; \
		sleep 0.5; \
	done; \
	grep -q 'Ctrl-C to stop' "$$log" || { echo "make airflow: the stand-ins did not start" >&2; exit 1; }; \
	eval "$$(sed -n 's/^ *export /export /p' "$$log")"; \
	banner="$$(head -n 1 "$$log"; $(VENV_PYTHON) -c "$$LOCAL_AIRFLOW_BANNER")"; \
	echo "$$banner"; \
	(for _ in $$(seq 1 300); do \
		if $(VENV_PYTHON) -c "$$LOCAL_AIRFLOW_READY" 2>/dev/null; then \
			printf '\n=== ready ===\n%s\n\n' "$$banner"; exit 0; \
		fi; \
		sleep 2; \
	done) & waiter=$$!; \
	trap 'kill $$stand_ins $$waiter 2>/dev/null || true' EXIT INT TERM; \
	airflow standalone
