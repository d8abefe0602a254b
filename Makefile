# moodboard: `make demo` sets everything up and runs the demo; `make test` sets up and runs all checks.
PY ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test lint webcheck typecheck pytest setup services clean bench

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch/torchvision are pinned and installed with pip first (they come from the local wheel cache)
	$(BIN)/pip install -q torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

services: setup
	bash scripts/services.sh

lint: setup webcheck
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports

# the web UI's JavaScript: type-checked against its JSDoc types (the PinCard result schema among them), linted
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

webcheck: node_modules/.installed
	npx --no-install tsc -p src/moodboard/api/static/jsconfig.json
	npx --no-install eslint src/moodboard/api/static/js

typecheck: setup
	$(BIN)/mypy

pytest: setup
	. scripts/services.env 2>/dev/null; $(BIN)/pytest -q

test: setup services lint typecheck
	bash scripts/run_tests.sh

demo: setup
	bash scripts/demo.sh

clean:
	rm -rf $(VENV) node_modules .moodboard .pytest_cache .mypy_cache .ruff_cache
