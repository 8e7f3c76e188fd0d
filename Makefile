# The two commands a newcomer needs: `make run` and `make test`. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
UV := python3 -m uv
HOST ?= 127.0.0.1
PORT ?= 8000
export PORTAL_SITE_URL ?= http://$(HOST):$(PORT)
# Python writes its compiled bytecode (and pytest its rewritten test modules) to __pycache__, so each
# process after the first imports instead of compiling: some machines set PYTHONDONTWRITEBYTECODE,
# which made every test process, worker and subprocess compile everything again (15 s of the 21 s
# a pytest process took to collect the suite).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: help
help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  make %-10s %s\n", $$1, $$2}'

$(VENV)/.synced: pyproject.toml uv.lock
	@python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet --disable-pip-version-check uv 2>/dev/null
	@$(UV) sync --frozen --quiet
	@touch $@

.PHONY: install
install: $(VENV)/.synced ## Create .venv from the lock file

var:
	@mkdir -p var

.PHONY: migrate
migrate: install var
	@$(PY) manage.py migrate --noinput -v0

.PHONY: demo
demo: migrate ## Load the demo organisations and users (idempotent)
	@$(PY) manage.py load_demo

.PHONY: run
run: demo ## Set up and serve the portal with demo data at http://127.0.0.1:8000
	@echo "Serving on http://$(HOST):$(PORT)  (Ctrl-C to stop)"
	@DJANGO_DEBUG=$${DJANGO_DEBUG:-1} $(PY) manage.py runserver $(HOST):$(PORT)

.PHONY: worker
worker: install ## Start a Celery worker (needs REDIS_URL)
	@test -n "$$REDIS_URL" || { echo "REDIS_URL is not set: without it tasks run in-process and no worker is needed."; exit 1; }
	@$(VENV)/bin/celery -A portal worker --loglevel=INFO --concurrency=2

.PHONY: beat
beat: install ## Start the Celery beat scheduler, exactly one (needs REDIS_URL)
	@test -n "$$REDIS_URL" || { echo "REDIS_URL is not set: without it there is no scheduler."; exit 1; }
	@$(VENV)/bin/celery -A portal beat --loglevel=INFO --schedule=var/celerybeat-schedule

.PHONY: backup-check
backup-check: install ## Back up PostgreSQL, restore into a scratch database and verify it (BACKUP_CHECK_ARGS="--seed [URL]")
	@PYTHON=$(PY) bash scripts/backup_restore_check.sh $(BACKUP_CHECK_ARGS)

# Integer limits in the schema come from the database backend; the schema documents production's
# (PostgreSQL), whatever database this machine uses. Generating it never connects to a database.
SCHEMA := DATABASE_URL=postgres://schema@localhost.invalid:5432/schema $(PY) manage.py spectacular --validate --fail-on-warn

.PHONY: schema
schema: install ## Regenerate the committed OpenAPI schema, docs/openapi.yaml
	@$(SCHEMA) --file docs/openapi.yaml
	@echo "docs/openapi.yaml regenerated"

.PHONY: lint
lint: install var ## ruff, migrations in sync, Django system checks, OpenAPI schema valid and committed
	@$(VENV)/bin/ruff check .
	@$(SCHEMA) --file var/openapi.yaml
	@diff -u docs/openapi.yaml var/openapi.yaml >/dev/null || { diff -u docs/openapi.yaml var/openapi.yaml | head -40; echo "docs/openapi.yaml has drifted from the code: run make schema and commit it"; exit 1; }
	@$(PY) manage.py makemigrations --check --dry-run -v0 || { echo "Model changes without a migration: run manage.py makemigrations"; exit 1; }
	@$(PY) manage.py check --fail-level WARNING
	@DJANGO_ENV=production DJANGO_SECRET_KEY=lint-only-deploy-check-key-0123456789-abcdefghijklmnopqrstuvwxyz \
	  DJANGO_ALLOWED_HOSTS=portal.example $(PY) manage.py check --deploy --fail-level WARNING

.PHONY: typecheck
typecheck: install ## mypy with django-stubs
	@$(VENV)/bin/mypy portal principles assessments supplychain reports

# The suite runs in TEST_WORKERS processes (pytest-xdist; `auto`: one per CPU, 2 on CI), each with a test
# database, Redis databases and var folder of its own (tests/conftest.py). The fault tests (tests/faults)
# run among the rest: each kills only processes it started, restarts a PostgreSQL server of its own and
# flushes only its own process's broker database.
TEST_WORKERS ?= auto

.PHONY: test
test: lint typecheck var ## Set up, lint, type-check and run the whole test suite (PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set)
	@$(VENV)/bin/pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

.PHONY: clean
clean: ## Remove the virtualenv and local data
	rm -rf $(VENV) var
