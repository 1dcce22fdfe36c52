# The commands a developer and CI run. `make setup` once, then `make demo` / `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
TOOLS := .tools
PY := $(VENV)/bin/python
SAM := $(TOOLS)/sam/bin/sam
CHECKOV := $(TOOLS)/checkov/bin/checkov
STACK_NAME ?= scones-vehicle-classifier
# sam and checkov pin many packages of their own: each lives in its own virtualenv.
export SAM_CLI_TELEMETRY := 0
export BC_SKIP_MAPPING := TRUE
# The Lambda runtime's Python: `sam build` writes the functions' bytecode with it
# (functions/Makefile), and bench-coldstart times their cold import with it. python3.13 on the PATH, else pyenv's.
ifeq ($(origin PYTHON313),undefined)
PYTHON313 := $(firstword $(shell python3.13 -c 'import sys; print(sys.executable)' 2>/dev/null) \
	$(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13))
endif
export PYTHON313

.PHONY: help setup lock browser demo check test lint unit integration build deploy logs bench bench-coldstart clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

# Installed in layers: `make demo` needs only the project's own dependencies (the local stack,
# the ONNX model, the report); PyTorch (`train`), sagemaker-core (`cloud`) and the linters come
# with `make setup`, which every other target uses.
#
# Every env installs from one lock, uv.lock: .venv (the project and its extras) and the tools'
# envs (.tools/sam, .tools/checkov, .tools/awscli: pyproject.toml's dependency groups, which pin
# versions that conflict with ours, so each has its own env and its own fork of the lock).
# `make lock` refreshes it. uv rather than pip-tools: pip-compile writes one file per env (four,
# which drift apart), resolves for this platform and Python only, and reads pip's config (this
# machine's wheel folders and local torch build would land in its output); uv.lock is one file,
# resolved from PyPI alone for every platform and Python >=3.11 (a laptop's too), and
# `uv sync --locked` stops when it no longer matches pyproject.toml. uv comes from PyPI at this
# version, in its own env; the lock needs its preview feature package-conflicts ([tool.uv]).
UV_VERSION := 0.13.9
UV := $(TOOLS)/uv/bin/uv
UV_STAMP := $(TOOLS)/uv/.installed-$(UV_VERSION)
UV_RUN = $(UV) --quiet --preview-features package-conflicts --no-python-downloads
UV_SYNC = $(UV_RUN) sync --locked --python $(PYTHON)
# PyPI's torch for Linux x86_64 is a CUDA build, with these packages (GBs). Where pip finds the
# locked torch version without an index (a CPU build in its find-links, as on this project's
# machines and CI), .venv takes that build instead, with the lock's versions of its dependencies.
TORCH_VERSION = $(shell sed -n '/^name = "torch"$$/{n;s/^version = "\(.*\)"$$/\1/p;}' uv.lock)
CUDA_PACKAGES = $(shell grep -oE '^name = "(nvidia-[a-z0-9-]+|cuda-[a-z0-9-]+|triton)"$$' uv.lock | cut -d'"' -f2 | sort -u)
SETUP_EXTRAS := --extra dev --extra cloud --extra train
DEMO_STAMP := $(VENV)/.installed-demo
SETUP_STAMPS := $(VENV)/.installed $(TOOLS)/sam/.installed $(TOOLS)/checkov/.installed $(TOOLS)/awscli/.installed

setup: ## create .venv and the tool envs from uv.lock (idempotent; the installs run side by side)
	@$(MAKE) --no-print-directory -j5 $(SETUP_STAMPS) browser

# LOCK_ARGS= keeps every pin that still fits pyproject.toml; LOCK_ARGS="--upgrade-package boto3" moves one
LOCK_ARGS ?= --upgrade
lock: $(UV_STAMP) ## refresh uv.lock: the newest versions pyproject.toml allows, for every env (commit it)
	$(UV_RUN) lock $(LOCK_ARGS)

# The review page's browser test drives the OS's Chromium (Playwright's own download fails
# offline). Best effort: where apt-get cannot install it, the test skips and says why.
browser:
	@command -v chromedriver >/dev/null || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] \
		&& timeout 600 sh -c 'apt-get update -qq && apt-get install -y -qq chromium chromium-driver' \
		>/dev/null 2>&1; } || echo "no chromium/chromedriver: the review page's browser test will skip"

$(UV_STAMP):
	$(PYTHON) -m venv $(TOOLS)/uv
	$(TOOLS)/uv/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	touch $@

$(DEMO_STAMP): pyproject.toml uv.lock | $(UV_STAMP)
	$(UV_SYNC) --inexact
	touch $@

$(VENV)/.installed: $(DEMO_STAMP) pyproject.toml uv.lock
	$(UV_SYNC) $(SETUP_EXTRAS) --no-install-package torch $(addprefix --no-install-package ,$(CUDA_PACKAGES))
	$(PY) -m pip install --quiet --disable-pip-version-check --no-index --no-deps torch==$(TORCH_VERSION) 2>/dev/null \
		|| { echo "no local build of torch $(TORCH_VERSION): the lock's, from PyPI"; $(UV_SYNC) $(SETUP_EXTRAS); }
	touch $@

$(TOOLS)/%/.installed: pyproject.toml uv.lock | $(UV_STAMP)
	UV_PROJECT_ENVIRONMENT=$(TOOLS)/$* $(UV_SYNC) --only-group $*
	touch $@

demo: $(DEMO_STAMP) ## run the committed sample images through the local stack (installs only what it needs)
	$(PY) -m local_stack demo

# The tiers: lint (ruff, and the template's and the ASL's linters in tests/lint), unit (no
# network: moto in-process, the workflow deployed once per module), integration (the local stack
# end to end, one shared stack where a test needs no flags of its own). `make check` is the fast
# loop; `make test` is what CI runs.
RUFF := $(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .
# Every tier runs on every core (pytest-xdist), a test file to a worker: a unit module's one
# deploy serves all its tests, and each worker starts the integration tier's shared stack once.
WORKERS ?= auto
PARALLEL := -n $(WORKERS) --dist loadfile

check: setup ## the fast tiers: ruff and the unit tests (no linters, no local stack)
	$(RUFF)
	$(PY) -m pytest $(PARALLEL) tests/unit

test: setup ## every tier, as CI runs it: ruff, then lint, unit and integration tests, with coverage
	$(RUFF)
	$(PY) -m pytest $(PARALLEL) tests/lint tests/unit tests/integration --cov --cov-report=term:skip-covered

lint: setup ## ruff, and cfn-lint, sam validate, checkov and statelint (tests/lint)
	$(RUFF)
	$(PY) -m pytest $(PARALLEL) tests/lint

unit: setup ## unit tests only (tests/unit)
	$(PY) -m pytest $(PARALLEL) tests/unit

integration: setup ## the local stack end to end (tests/integration)
	$(PY) -m pytest $(PARALLEL) tests/integration

build: setup ## sam build (no Docker: functions/Makefile installs each function's Lambda wheels)
	PYTHON=$(abspath $(PY)) $(SAM) build

deploy: build ## sam deploy with samconfig.toml (set EndpointName there or PARAMS="EndpointName=...")
	$(SAM) deploy $(if $(PARAMS),--parameter-overrides $(PARAMS))

logs: setup ## tail the three functions and the state machine in AWS
	$(SAM) logs --stack-name $(STACK_NAME) --tail

bench: setup ## local stack throughput
	$(PY) -m local_stack bench

bench-coldstart: build ## each built function's cold import beside `import boto3` alone, and its size
	$(PY) bench/coldstart.py $(if $(PYTHON313),--python $(PYTHON313))

clean: ## remove build outputs (keeps .venv and .tools)
	rm -rf .aws-sam .pytest_cache .ruff_cache .coverage htmlcov
