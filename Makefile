# Ruhu — the two commands: `make run` (demo server) and `make test` (every test).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
export FLASK_APP := server
# The address `make run` serves on, also for CLI commands' printed links when RUHU_PUBLIC_BASE_URL is unset.
export RUHU_HOST := $(HOST)
export RUHU_PORT := $(PORT)

.PHONY: run test test-postgres bench lint chromium db clean help

help:
	@echo "make run   - install, migrate the SQLite database, load demo data once, serve on http://$(HOST):$(PORT)"
	@echo "make test  - install with the test extra (and Debian's chromium when missing) and run every test"
	@echo "make bench - run the benchmarks under bench/"
	@echo "make lint  - ruff"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@ $(VENV)/.installed

# The phone app's browser libraries, from the npm registry (npm ci rewrites the marker file).
PWA_DEPS := pwa/node_modules/.package-lock.json
$(PWA_DEPS): pwa/package-lock.json pwa/package.json
	npm ci --prefix pwa --no-audit --no-fund

db: $(VENV)/.installed
	$(BIN)/ruhu db upgrade
	$(BIN)/ruhu demo load

run: db $(PWA_DEPS)
	@$(BIN)/ruhu demo logins
	@echo "Ruhu: http://$(HOST):$(PORT)/"
	$(BIN)/ruhu run --host $(HOST) --port $(PORT)

# Debian's chromium for the browser tests (Playwright cannot download browsers here).
chromium:
	@bash scripts/ensure-chromium.sh

test: $(VENV)/.installed-test chromium $(PWA_DEPS)
	$(BIN)/python -m pytest

# The integration tests once more, against PostgreSQL (CI runs this too).
test-postgres: $(VENV)/.installed-test $(PWA_DEPS)
	RUHU_TEST_DATABASE_URL=$${RUHU_TEST_POSTGRES_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test} \
	  $(BIN)/python -m pytest tests/integration -p no:cacheprovider

# Lighthouse, for `make bench` only (make test never installs it); npm ci rewrites the marker file.
LIGHTHOUSE_DEPS := bench/lighthouse/node_modules/.package-lock.json
$(LIGHTHOUSE_DEPS): bench/lighthouse/package-lock.json bench/lighthouse/package.json
	npm ci --prefix bench/lighthouse --no-audit --no-fund

bench: $(VENV)/.installed-test $(PWA_DEPS) $(LIGHTHOUSE_DEPS) chromium
	$(BIN)/python -m pip install -q 'gunicorn>=21'
	$(BIN)/python -m bench

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts
