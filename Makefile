# corral: the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 3000
REDIS_URL ?= redis://127.0.0.1:6379/0
export REDIS_URL

.PHONY: install docs docs-tools redis test lint typecheck unit run bench sam-cli build deploy-check preflight template-check importtime chaos cost chromium openapi fuzz instructions

# The engine with its extras, then the client package (client/: the `corral` command), both
# editable. Two steps: reinstalling the engine must not remove the client's `corral` script.
# The stamp is named by a digest of the dependency lists (infra/deps_digest.py), so an edit
# elsewhere in pyproject.toml, or a fresh checkout's timestamps, does not reinstall.
DEPS := $(shell $(PYTHON) infra/deps_digest.py)

$(VENV)/.installed-$(DEPS):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -e '.[dev]'
	$(PY) -m pip install -q -e ./client
	rm -f $(VENV)/.installed-* $(VENV)/.docs-installed-*
	touch $@

install: $(VENV)/.installed-$(DEPS)

# The docs site's tools (the `docs` extra), on top of the dev install.
$(VENV)/.docs-installed-$(DEPS): $(VENV)/.installed-$(DEPS)
	$(PY) -m pip install -q -e '.[dev,docs]'
	touch $@

docs-tools: $(VENV)/.docs-installed-$(DEPS)

# The docs site, built into site/ in strict mode: a broken link or a warning fails it.
docs: docs-tools
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict

redis: install
	@PY=$(PY) bash infra/ensure_redis.sh

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install docs-tools
	$(VENV)/bin/mypy

test: install docs-tools sam-cli redis chromium lint typecheck
	$(VENV)/bin/pytest

# The browser tests drive Debian's chromium through Playwright; installed only when missing.
chromium:
	@command -v chromium >/dev/null || { \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -q && $$SUDO apt-get install -y -q chromium; }

# The committed OpenAPI document (a test fails when it is stale).
openapi: install
	$(PY) -m infra.export_openapi

# schemathesis over every operation, as a tenant and as an admin: no 5xx, and every answer
# as the OpenAPI document declares it. The suite runs a few examples per operation; this
# runs FUZZ_EXAMPLES (about 27 operations x 2 callers x FUZZ_EXAMPLES requests).
FUZZ_EXAMPLES ?= 1000

fuzz: install redis
	CORRAL_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(VENV)/bin/pytest tests/functions/security/test_fuzz.py \
		-k every_operation --timeout=0 -q

run: install redis
	PORT=$(PORT) $(PY) -m infra.local

# The bench starts a Redis of its own (bench/redis_server.py), not the shared one. Its
# stdout opens with the corral/bullmq ratios, so make does not echo the command.
bench: install
	@bash bench/run.sh

# Instructions per single enqueue, client and Redis, counted by valgrind (its own Redis).
instructions: install
	$(PY) -m bench.instructions

# The chaos run starts its own Redis servers (ports 7500-7520) and moto; not the shared one.
JOBS ?= 1000
DURATION ?= 60
TENANTS ?= 3

chaos: install
	$(PY) -m bench.chaos --jobs $(JOBS) --duration $(DURATION) --tenants $(TENANTS)

COST_JOBS ?= 1000

cost: install
	$(PY) -m bench.cost --jobs $(COST_JOBS)

# Deploy: the SAM CLI lives in its own virtualenv (its pins clash with the dev tools).
SAM_VENV ?= .venv-sam

$(SAM_VENV)/.installed:
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install -q aws-sam-cli
	touch $@

sam-cli: $(SAM_VENV)/.installed

template-check: install
	PYTHONPATH=functions $(PY) -m infra.deploy.queues --check
	$(PY) -m infra.deploy.layer_requirements --check
	$(VENV)/bin/cfn-lint template.yaml

build: template-check sam-cli
	$(PY) -m infra.deploy.build

# Read-only checks of the AWS account the credentials reach, before the first deploy;
# e.g. make preflight ARGS="--sender jobs@example.com".
preflight: install
	$(PY) -m infra.deploy.preflight $(ARGS)

# The README's build, then its `sam deploy` (change set only) against a moto server on loopback.
deploy-check: build
	$(PY) -m infra.deploy.rehearse

importtime: install
	$(PY) -m infra.deploy.importtime
