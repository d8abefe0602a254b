# moodboard: `make demo` sets everything up and runs the demo; `make test` sets up and runs all checks.
PY ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test lint typecheck pytest setup services clean bench

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

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports

typecheck: setup
	$(BIN)/mypy

pytest: setup
	. scripts/services.env 2>/dev/null; $(BIN)/pytest -q

test: setup services lint typecheck
	bash scripts/run_tests.sh

demo: setup
	bash scripts/demo.sh

clean:
	rm -rf $(VENV) .moodboard .pytest_cache .mypy_cache .ruff_cache
