# Two commands for a newcomer: `make demo` (serve with demo data on SQLite) and
# `make test` (the whole suite on SQLite, then on a throw-away PostgreSQL 15).

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

.PHONY: install browser redis demo serve test test-sqlite test-postgres bench lint format messages clean

install: $(INSTALLED) $(CATALOGS)

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

backend/translations/%/LC_MESSAGES/messages.mo: backend/translations/%/LC_MESSAGES/messages.po $(INSTALLED)
	$(BIN)/pybabel compile --use-fuzzy -i $< -o $@

demo: install
	$(FLASK) db upgrade
	$(FLASK) demo seed
	@echo "Serving on http://$(HOST):$(PORT)  (API docs: http://$(HOST):$(PORT)/api/docs); Ctrl-C stops it"
	HOST=$(HOST) $(BIN)/honcho start --port $(PORT)

test: install lint browser redis test-sqlite test-postgres

# Rate limits are kept in Redis in production: each run gets a throw-away one
# (tests/with_redis.sh), shared by the limit tests' two app processes.
redis:
	@command -v redis-server >/dev/null 2>&1 || { \
		echo "installing Debian's redis-server"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq redis-server >/dev/null; }

# The console's end-to-end tests drive Debian's Chromium (Playwright never downloads one);
# a CJK font lets its screenshots show the Chinese pages as people see them.
browser:
	@{ command -v chromium >/dev/null 2>&1 && [ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]; } || { \
		echo "installing Debian's chromium, chromium-driver and fonts-wqy-microhei"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
			chromium chromium-driver fonts-wqy-microhei >/dev/null; }

# Write throughput and latency on SQLite and a throw-away PostgreSQL, then the ledger's
# invariants (loadtests/bench.py); BENCH_ARGS=--quick for a short run. Speed is printed
# against the targets; only a failed request or a broken invariant fails it.
bench: install
	$(BIN)/python -m loadtests.bench $(BENCH_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test-sqlite: install
	tests/with_redis.sh $(BIN)/pytest

test-postgres: install
	tests/with_redis.sh tests/with_postgres.sh $(BIN)/pytest

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
