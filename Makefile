# The README's commands. Everything a fresh Debian machine lacks is installed here.
VENV    ?= .venv
PYTHON  ?= python3
PY      := $(VENV)/bin/python
FLASK   := $(VENV)/bin/flask --app portal
PORT    ?= 5000
# Exactly the versions CI tested (requirements.lock, `make lock` to refresh it after changing pyproject.toml).
# `make run` installs the runtime only; `make test` adds the dev tools (pytest, Playwright, ruff, mypy …).
LOCK    := requirements.lock
RUNTIME := $(VENV)/.runtime-stamp
STAMP   := $(VENV)/.installed-stamp
MO      := portal/translations/zh/LC_MESSAGES/messages.mo

.PHONY: run test test-sqlite test-postgres test-browser lint translations extract-messages bench clean lock

$(RUNTIME): pyproject.toml $(LOCK)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c $(LOCK) -e .
	@touch $@

$(STAMP): $(RUNTIME)
	$(PY) -m pip install --quiet -c $(LOCK) -e '.[dev]'
	@touch $@

lock: $(STAMP)
	$(PY) -m pip freeze --exclude-editable > $(LOCK)

$(MO): portal/translations/zh/LC_MESSAGES/messages.po $(RUNTIME)
	$(VENV)/bin/pybabel compile --use-fuzzy -d portal/translations -D messages --statistics 2>&1 | tail -1

translations: $(MO)

instance/config.py:
	@mkdir -p instance
	@$(PYTHON) -c "import secrets; print('SECRET_KEY = ' + repr(secrets.token_hex(32)))" > $@
	@echo "Wrote a random SECRET_KEY to $@ (git-ignored)."

run: $(RUNTIME) $(MO) instance/config.py
	@scripts/ensure-system-packages.sh run || true
	$(FLASK) db upgrade
	$(FLASK) init-data
	$(FLASK) seed-demo --if-empty
	@# One background worker (emails, SLA sweep, reminders) beside the web server; it stops with it.
	@export PORTAL_BASE_URL="$${PORTAL_BASE_URL:-http://127.0.0.1:$(PORT)}"; \
	  $(FLASK) worker & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	  $(FLASK) run --host 127.0.0.1 --port $(PORT)

# The whole suite: SQLite with the browser tests, and the same suite on a throw-away PostgreSQL — the two
# side by side (each has its own database, queue file, folders and ports), each one's output kept together.
test: $(STAMP) $(MO) lint
	@scripts/ensure-system-packages.sh test
	$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgres

test-sqlite: $(STAMP) $(MO)
	PORTAL_TEST_DATABASE=sqlite $(VENV)/bin/pytest -q -p no:cacheprovider

test-postgres: $(STAMP) $(MO)
	PORTAL_TEST_DATABASE=postgresql $(VENV)/bin/pytest -q -p no:cacheprovider -m "not browser"

test-browser: $(STAMP) $(MO)
	PORTAL_TEST_DATABASE=sqlite $(VENV)/bin/pytest -q -m browser

lint: $(STAMP)
	$(VENV)/bin/ruff check portal tests
	$(VENV)/bin/mypy

extract-messages: $(STAMP)
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l --ignore-dirs=".*" -o portal/translations/messages.pot .
	$(VENV)/bin/pybabel update -i portal/translations/messages.pot -d portal/translations -l zh --no-fuzzy-matching

# Speed, measured (never asserted in a test): see bench/run.py. Builds its database once under instance/bench.
bench: $(STAMP) $(MO)
	@scripts/ensure-system-packages.sh bench
	$(PY) bench/run.py
	$(PY) bench/reports.py

clean:
	rm -rf $(VENV) .pytest_cache
