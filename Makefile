# Two commands for a newcomer: `make demo` (serve with demo data on SQLite) and
# `make test` (the whole suite on SQLite and on a throw-away PostgreSQL 15, side by side).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
INSTALLED := $(VENV)/.installed
CATALOGS := $(patsubst %.po,%.mo,$(wildcard backend/translations/*/LC_MESSAGES/messages.po))
HOST ?= 127.0.0.1
PORT ?= 8000
# Debian's packages need root: use sudo when not root.
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: install browser redis tools screenshots demo serve test test-sqlite test-postgres bench lint format messages clean

install: $(INSTALLED) $(CATALOGS)

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

backend/translations/%/LC_MESSAGES/messages.mo: backend/translations/%/LC_MESSAGES/messages.po $(INSTALLED)
	$(BIN)/pybabel compile --use-fuzzy -i $< -o $@

demo: install redis
	$(FLASK) db upgrade
	$(FLASK) demo seed
	@echo "Serving on http://$(HOST):$(PORT)  (API docs: http://$(HOST):$(PORT)/api/docs); Ctrl-C stops it"
	HOST=$(HOST) $(BIN)/honcho start --port $(PORT)

# The two suites share nothing (each its own database, temporary directories, ports and
# screenshot folder), so they run side by side, one per core; each writes its own log,
# printed whole when both are done, and the target fails if either does.
# TEST_RUNNER wraps both runs: each gets a throw-away Redis (tests/with_redis.sh);
# PYTEST_ARGS is passed to pytest (e.g. PYTEST_ARGS='-x tests/test_ledger.py').
TEST_RUNNER ?= tests/with_redis.sh
PYTEST_ARGS ?=
PYTEST = $(BIN)/pytest -o cache_dir=.pytest_cache/$(1) --durations=10 $(PYTEST_ARGS)
LOGS := test-artifacts/logs

test: install lint browser redis tools
	@mkdir -p $(LOGS)
	@echo "make test: the suite on SQLite and on PostgreSQL side by side; logs in $(LOGS)/"
	@started=$$(date +%s); \
	$(MAKE) --no-print-directory test-sqlite >$(LOGS)/sqlite.log 2>&1 & sqlite=$$!; \
	$(MAKE) --no-print-directory test-postgres >$(LOGS)/postgres.log 2>&1; postgres=$$?; \
	wait $$sqlite; sqlite=$$?; \
	for db in sqlite postgres; do echo "===== $$db ====="; cat $(LOGS)/$$db.log; done; \
	echo "make test: SQLite exit $$sqlite, PostgreSQL exit $$postgres, $$(( $$(date +%s) - started )) s"; \
	[ $$sqlite -eq 0 ] && [ $$postgres -eq 0 ]

# Rate limits are kept in Redis in production: `make demo` runs its own (the Procfile's
# redis), and each test run gets a throw-away one (TEST_RUNNER), shared by the limit tests'
# two app processes.
redis:
	@command -v redis-server >/dev/null 2>&1 || { \
		echo "installing Debian's redis-server"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq redis-server >/dev/null; }

# The README's walkthrough (tests/test_readme.py runs it) uses curl and jq.
tools:
	@{ command -v curl >/dev/null 2>&1 && command -v jq >/dev/null 2>&1; } || { \
		echo "installing Debian's curl and jq"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq curl jq >/dev/null; }

# The console's end-to-end tests drive Debian's Chromium (Playwright never downloads one);
# a CJK font lets its screenshots show the Chinese pages as people see them.
browser:
	@{ command -v chromium >/dev/null 2>&1 && [ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]; } || { \
		echo "installing Debian's chromium, chromium-driver and fonts-wqy-microhei"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
			chromium chromium-driver fonts-wqy-microhei >/dev/null; }

# The staff guide's pictures (docs/CONSOLE.md): the browser tests, run on SQLite, save them
# under docs/screenshots/ (a plain test run keeps them under test-artifacts/).
screenshots: install browser
	GUIDE_SCREENSHOTS=docs/screenshots $(BIN)/pytest -q -o cache_dir=.pytest_cache/sqlite tests/test_e2e_*.py

# Write throughput and latency on SQLite and a throw-away PostgreSQL, then the ledger's
# invariants (loadtests/bench.py); BENCH_ARGS=--quick for a short run. Speed is printed
# against the targets; only a failed request or a broken invariant fails it.
bench: install
	$(BIN)/python -m loadtests.bench $(BENCH_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test-sqlite: install
	$(TEST_RUNNER) $(call PYTEST,sqlite)

test-postgres: install
	$(TEST_RUNNER) tests/with_postgres.sh $(call PYTEST,postgres)

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# After changing user-facing messages: extract, merge, translate the .po, commit it.
messages: install
	$(BIN)/pybabel extract -F backend/babel.cfg -k _l -k N_ --no-location --omit-header \
		-o backend/translations/messages.pot backend points campaigns admin
	$(BIN)/pybabel update --no-location -i backend/translations/messages.pot -d backend/translations

clean:
	rm -rf $(VENV) instance/*.db instance/*.db-wal instance/*.db-shm
