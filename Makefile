# `make run` and `make test` need nothing but Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-requirements
# The development server's address (`make run RUN_ADDRESS=127.0.0.1:8001`), also the base of the
# links in the e-mails it sends.
RUN_ADDRESS ?= 127.0.0.1:8000
# The development server and its jobs: DEBUG on, embedded SQLite and broker unless set.
RUN_ENV := DEBUG=$${DEBUG:-true} PORTAL_BASE_URL=$${PORTAL_BASE_URL:-http://$(RUN_ADDRESS)}

.PHONY: install run test lint format check messages clean bench load

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	@# A development checkout: plain `manage.py` runs with DEBUG on (settings read .env; real
	@# environment variables win). Never overwrites an existing .env.
	@[ -e .env ] || printf '# Development checkout (written by make install). Production sets its environment.\nDEBUG=true\n' > .env
	touch $(STAMP)

install: $(STAMP)

# Serve the portal on RUN_ADDRESS with a Celery worker and beat; Ctrl-C, SIGTERM or SIGHUP stops
# all of them (msp_portal/devserver.py).
run: install
	$(RUN_ENV) $(BIN)/python manage.py migrate --noinput
	$(RUN_ENV) $(BIN)/python manage.py seed_demo
	$(RUN_ENV) exec $(BIN)/python -m msp_portal.devserver $(RUN_ADDRESS)

# In parallel over the machine's cores (pytest-xdist); PYTEST_ARGS adds options.
test: install
	$(BIN)/pytest -n auto $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Migrations complete, system checks clean (also with production settings).
check: install
	DEBUG=true $(BIN)/python manage.py makemigrations --check --dry-run
	DEBUG=true $(BIN)/python manage.py check --fail-level WARNING
	DEBUG=false SECRET_KEY=check-deploy-$$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n') \
		$(BIN)/python manage.py check --deploy --fail-level WARNING

# Refresh the translation catalogues after changing strings (needs gettext), then compile.
messages: install
	DEBUG=true $(BIN)/python manage.py makemessages -l ja -l en --no-obsolete --ignore=.venv --ignore=var
	DEBUG=true $(BIN)/python manage.py compilemessages --ignore=.venv

# DESIGN.md §12 at scale: recreate the PostgreSQL database named by DATABASE_URL (its name must
# contain "bench"), load BENCH_ACCOUNTS accounts, then measure every figure beside its baseline
# (bench.json and a table; fails when a bar does not hold). Production-like settings: DEBUG off.
BENCH_ACCOUNTS ?= 1000000
BENCH_ENV := DEBUG=false SECRET_KEY=bench-$$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n') \
	STATIC_MANIFEST=false PYTHONWARNINGS=ignore
bench: install
	@case "$${DATABASE_URL:-}" in postgres://*|postgresql://*) ;; \
	  *) echo "make bench needs DATABASE_URL=postgres://…/portal_bench (PostgreSQL)"; exit 2;; esac
	$(BENCH_ENV) $(BIN)/python manage.py bench_seed --accounts $(BENCH_ACCOUNTS) --recreate
	$(BENCH_ENV) $(BIN)/python manage.py bench --out bench.json $(BENCH_ARGS)

# Simulated MSP admins browsing the list (locust, headless) against gunicorn with production
# settings on an existing bench database (run `make bench` or bench_seed first): 20 and 50 users,
# 60 s each, beside the Django admin changelist; load.json and a table (docs/performance.md).
load: install
	@case "$${DATABASE_URL:-}" in postgres://*|postgresql://*) ;; \
	  *) echo "make load needs DATABASE_URL=postgres://…/portal_bench (a bench_seed database)"; exit 2;; esac
	$(BENCH_ENV) $(BIN)/python manage.py bench_load --out load.json $(LOAD_ARGS)

clean:
	rm -rf $(VENV) var
