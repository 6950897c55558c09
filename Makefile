# Two entry points: `make run` (the demo on the embedded SQLite registry) and `make test`
# (lint, types, tests). Both create .venv and install from the committed constraints.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=
# The browser tests drive Debian's chromium; it is installed from Debian when missing.
CHROMIUM := /usr/bin/chromium
# The RSL crawler tests put Debian's nginx (auth_request) in front of a site.
NGINX := /usr/sbin/nginx
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint types pytest bench lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e '.[postgres]'
	touch $@

$(VENV)/.installed-dev: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev,postgres]'
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/python -c 'from consentry.warmup import warm_up; warm_up()'
	$(BIN)/consentry demo

test: $(VENV)/.installed-dev lint types pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

types: $(VENV)/.installed-dev
	$(BIN)/mypy src

$(CHROMIUM):
	$(SUDO) apt-get install -y -qq chromium || ($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium)

# The package would start a server on port 80 for good; the tests run their own nginx
# on loopback, so the install is told (policy-rc.d, 101) to start nothing.
$(NGINX):
	$(SUDO) sh -c 'made=; if [ ! -e /usr/sbin/policy-rc.d ]; then printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; made=1; fi; \
	  apt-get install -y -qq nginx || (apt-get update -qq && apt-get install -y -qq nginx); done=$$?; \
	  [ -z "$$made" ] || rm -f /usr/sbin/policy-rc.d; exit $$done'

pytest: $(VENV)/.installed-dev $(CHROMIUM) $(NGINX)
	$(BIN)/python -c 'from consentry.warmup import warm_up; warm_up()'  # compile the native kernels once, not per worker
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/register.py

# Regenerate constraints.txt from a clean resolve of pyproject.toml.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --upgrade pip
	.lock-venv/bin/pip install --quiet '.[dev,postgres]'
	.lock-venv/bin/pip freeze --exclude consentry | sort -f > constraints.txt
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .consentry-demo .mypy_cache .ruff_cache .pytest_cache
