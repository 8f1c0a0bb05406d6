# Herald: `make run` to try it, `make test` to prove it. Everything else is optional.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run test bench worker system-test-deps clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --editable '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

## make run: install, migrate, start redis (unless REDIS_URL is set), worker and web server.
run: $(STAMP)
	$(PY) -m config.runner

## make test: install what the suite needs and run all of it.
test: $(STAMP) system-test-deps
	$(PY) -m pytest

## make bench: the benchmark (real processes; prints a table, writes bench/results.json).
bench: $(STAMP)
	$(PY) -m bench

## Debian packages the suite drives for real: Chromium for the browser tests.
system-test-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests..."; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

clean:
	rm -rf $(VENV) var/test-logs staticfiles
