# Herald: `make run` to try it, `make check` while you work, `make test` to prove it. Everything else is optional.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run check test bench system-test-deps postgres-test-deps rabbitmq-test-deps clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --editable '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

## make run: install, migrate, start redis (unless REDIS_URL is set), worker and web server.
run: $(STAMP)
	$(PY) -m config.runner

## make check: the fast loop, starting no server: lint, formatting, types, and the unit tests
## (tests/unit on SQLite, Dramatiq's StubBroker and a local-memory cache).
check: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	env -u DATABASE_URL -u BROKER_URL $(PY) -m pytest tests/unit

## make test: make check, then install what the suite needs and run all of it, on SQLite (the
## unit tier left out: make check ran it on SQLite) and then on PostgreSQL, then the
## reliability suite again with RabbitMQ as the broker.
## Every run goes to the end; the target fails if any failed.
RABBITMQ_TESTS := tests/reliability tests/integration/test_registration_story.py tests/integration/config/test_rabbitmq.py
test: $(STAMP) check system-test-deps postgres-test-deps rabbitmq-test-deps
	@status=0; \
	echo "== test suite on SQLite"; env -u DATABASE_URL -u BROKER_URL $(PY) -m pytest --ignore=tests/unit || status=1; \
	echo "== test suite on PostgreSQL"; env -u DATABASE_URL -u BROKER_URL $(PY) -m pytest --postgres || status=1; \
	echo "== reliability suite on RabbitMQ"; env -u DATABASE_URL -u BROKER_URL $(PY) -m pytest --broker rabbitmq $(RABBITMQ_TESTS) || status=1; \
	exit $$status

## make bench: the benchmark (real processes; prints tables, writes bench/results.json,
## bench/admin.json: every job admin page with a million rows, on SQLite and PostgreSQL, and
## bench/scaling.json: each broker and database, 1, 2 and 4 worker processes, the SMTP ceiling).
bench: $(STAMP) postgres-test-deps rabbitmq-test-deps
	$(PY) -m bench
	$(PY) -m bench.admin
	$(PY) -m bench.scaling
	$(PY) -m bench.tasks

## Debian packages the suite drives for real: Chromium for the browser tests.
system-test-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests..."; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

## Debian's PostgreSQL server for the second run (Debian keeps initdb off PATH, under /usr/lib/postgresql).
postgres-test-deps:
	@command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  echo "Installing Debian's postgresql for the PostgreSQL test run..."; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

## Debian's RabbitMQ server for the RabbitMQ run (the tests start their own node; the package's service is not used).
rabbitmq-test-deps:
	@test -x /usr/lib/rabbitmq/bin/rabbitmq-server || { \
	  echo "Installing Debian's rabbitmq-server for the RabbitMQ test run..."; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server >/dev/null; }

clean:
	rm -rf $(VENV) var/test-logs staticfiles
