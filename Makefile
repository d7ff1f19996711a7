# The two commands a new user needs: `make run` and `make test`. Everything else is installed by them.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
INSTALLED := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

# A local checkout is a pilot: debug pages on, no secrets needed. Production sets DEBUG=false (README).
export DEBUG ?= true

.PHONY: install run test lint bench bench-scale clean

$(INSTALLED): pyproject.toml verifier/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m pip install --quiet -e ./verifier
	touch $@

install: $(INSTALLED) .env

# A local checkout's configuration, which the settings read for what the environment does not set: a pilot (DEBUG on)
# with its own secret key, so every documented command works as written. Written once; never overwritten.
.env:
	@$(PYTHON) -c 'import secrets; print("# This checkout is a local pilot. Production sets its configuration in the environment (README).\nDEBUG=true\nSECRET_KEY=" + secrets.token_urlsafe(50))' > $@
	@echo "Wrote $@ (DEBUG=true and a new SECRET_KEY for this checkout)."

run: $(INSTALLED) .env
	$(PY) manage.py create_ledger_key --output var/ledger-signing-key.pem
	$(PY) manage.py create_signing_certificate
	$(PY) manage.py migrate --noinput
	$(PY) manage.py check --database default
	$(PY) manage.py seed_demo
	@echo
	@echo "LLM Governance Portal: http://$(HOST):$(PORT)/admin/  (sign in with a login above)"
	@echo
	@# No Celery beat in a pilot: a checkpoint still follows new ledger entries within LEDGER_CHECKPOINT_INTERVAL_S.
	$(PY) manage.py checkpoint_ledger --repeat & checkpoints=$$!; \
	trap 'kill $$checkpoints 2>/dev/null' EXIT INT TERM; \
	$(PY) manage.py runserver $(HOST):$(PORT)

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/lint-imports
	$(PY) manage.py makemigrations --check --dry-run
	$(BIN)/pytest $(PYTEST_ARGS)

bench: $(INSTALLED)
	$(PY) manage.py create_ledger_key --output var/ledger-signing-key.pem
	$(PY) manage.py create_signing_certificate
	$(PY) -m bench

# Ten million ledger entries on PostgreSQL (DATABASE_URL, or the local server): minutes, so never part of `make bench`.
bench-scale: $(INSTALLED)
	$(PY) manage.py create_signing_certificate
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/portal} $(PY) -m bench scale

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .import_linter_cache
