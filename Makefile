# The README's two commands: `make up` (install and start the whole stack on local services)
# and `make test` (install and run every check). The other targets are their parts.
SHELL := /bin/bash
VENV := .venv/bin
PIDFILE := var/run/stack.pid
LOG := var/log/stack.log

.PHONY: up down logs install services migrate web test lint typecheck pytest schemas bench \
	screenshots test-compose

up: install services migrate web
	@mkdir -p var/run var/log
	@[ -f .env ] || cp .env.example .env
	@if [ -f $(PIDFILE) ] && kill -0 $$(cat $(PIDFILE)) 2>/dev/null; then \
	  echo "the stack is already running (pid $$(cat $(PIDFILE))); make down to stop it"; exit 0; fi
	@setsid $(VENV)/honcho start -f Procfile > $(LOG) 2>&1 & echo $$! > $(PIDFILE)
	@$(VENV)/python -m runtime.wait_healthy Procfile || { tail -n 40 $(LOG); $(MAKE) down; exit 1; }
	@echo "stack is up: the app on http://127.0.0.1:8000/, the API on http://127.0.0.1:8000/api (logs: make logs; stop: make down)"

down:
	@if [ -f $(PIDFILE) ]; then kill -TERM -- -$$(cat $(PIDFILE)) 2>/dev/null || true; \
	  rm -f $(PIDFILE); echo "stack stopped"; else echo "the stack is not running"; fi

logs:
	@tail -n 100 -f $(LOG)

install:
	@deploy/local/install.sh

services:
	@deploy/local/ensure-services.sh

migrate:
	@$(VENV)/python -m ops.migrate

# the web client's build (web/dist, served by the gateway at /), remade when a source changed
WEB_SOURCES := $(shell find web/src web/public -type f 2>/dev/null) web/index.html \
	web/vite.config.ts web/tsconfig.json web/package.json package-lock.json
web: web/dist/index.html

web/dist/index.html: $(WEB_SOURCES)
	@echo "-- building the web client"
	@npm run build --silent -w web >/dev/null
	@touch $@

# PNGs of the list, the editor with its PDF, history, the rating and a public share page,
# from the stack `make up` runs (or RB_BASE_URL), into var/screenshots/
screenshots:
	@mkdir -p var/screenshots
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 node_modules/.bin/playwright test -c tests/browser/screenshots.config.ts

test: install services lint typecheck pytest

lint:
	$(VENV)/ruff check .
	$(VENV)/python -m ops.check_layers

typecheck:
	$(VENV)/mypy runtime contracts gateway auth_service resume_service compile_service ai_service live_service ops

# the unit level first, with every server address pointing at a closed port: it must need none
OFFLINE := TEST_POSTGRES_URL=postgresql+asyncpg://postgres@127.0.0.1:9 REDIS_URL=redis://127.0.0.1:9/0 \
	AMQP_URL=amqp://guest:guest@127.0.0.1:9/ DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:9/none

pytest:
	$(OFFLINE) $(VENV)/pytest tests/unit
	$(VENV)/pytest tests/integration tests/e2e tests/browser

# deploy/compose.yaml for real: prepare (engine, compose, base images where public ones
# cannot be pulled), validate, build, then tests/compose brings it up, runs the flow, scales
# it to two of every app service, kills one of each, and tears it down with its volumes
COMPOSE := deploy/compose/compose.sh
test-compose: install
	@start=$$(date +%s); \
	deploy/compose/prepare.sh && \
	$(COMPOSE) config --quiet && echo "test-compose: docker compose config validates" && \
	$(COMPOSE) build -q && echo "test-compose: images built in $$(( $$(date +%s) - start )) s" && \
	RB_TEST_COMPOSE=1 $(VENV)/pytest tests/compose -x -q -s -p no:cacheprovider; status=$$?; \
	echo "test-compose: $$( [ $$status = 0 ] && echo passed || echo FAILED ) in $$(( $$(date +%s) - start )) s"; \
	exit $$status

schemas:
	$(VENV)/python -m contracts.generate

BENCHES := resume_service gateway compile typst_render ats ai ai_import projection_rebuild observability protocol write_path exports live shares account_export erasure web_preview

bench: install services migrate
	@for b in $(BENCHES); do echo "== bench/$$b.py"; $(VENV)/python bench/$$b.py || exit 1; done
