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
# The Lambda runtime's Python: `sam build` writes the functions' bytecode with it (each function's
# Makefile), and bench-coldstart times their cold import with it. python3.13 on the PATH, else pyenv's.
ifeq ($(origin PYTHON313),undefined)
PYTHON313 := $(firstword $(shell python3.13 -c 'import sys; print(sys.executable)' 2>/dev/null) \
	$(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13))
endif
export PYTHON313

.PHONY: help setup browser demo check test lint unit integration build deploy logs bench bench-coldstart clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

# Installed in layers: `make demo` needs only the project's own dependencies (the local stack,
# the ONNX model, the report); PyTorch (`train`), sagemaker-core (`cloud`) and the linters come
# with `make setup`, which every other target uses.
DEMO_STAMP := $(VENV)/.installed-demo
SETUP_STAMPS := $(VENV)/.installed $(TOOLS)/sam/.installed $(TOOLS)/checkov/.installed $(TOOLS)/awscli/.installed
PIP_INSTALL := $(PY) -m pip install --quiet --disable-pip-version-check

setup: ## create .venv and the tool envs (idempotent; the installs run side by side)
	@$(MAKE) --no-print-directory -j5 $(SETUP_STAMPS) browser

# The review page's browser test drives the OS's Chromium (Playwright's own download fails
# offline). Best effort: where apt-get cannot install it, the test skips and says why.
browser:
	@command -v chromedriver >/dev/null || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] \
		&& timeout 600 sh -c 'apt-get update -qq && apt-get install -y -qq chromium chromium-driver' \
		>/dev/null 2>&1; } || echo "no chromium/chromedriver: the review page's browser test will skip"

$(DEMO_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) -e .
	touch $@

$(VENV)/.installed: $(DEMO_STAMP) pyproject.toml
	$(PIP_INSTALL) -e ".[dev,cloud,train]"
	touch $@

# the AWS CLI: the tests run the README's commands with it against the local stack
TOOL_PACKAGES_sam := aws-sam-cli==1.170.0
TOOL_PACKAGES_checkov := checkov==3.3.30
TOOL_PACKAGES_awscli := awscli==1.46.3

$(TOOLS)/%/.installed:
	$(PYTHON) -m venv $(TOOLS)/$*
	$(TOOLS)/$*/bin/python -m pip install --quiet --disable-pip-version-check $(TOOL_PACKAGES_$*)
	touch $@

demo: $(DEMO_STAMP) ## run the committed sample images through the local stack (installs only what it needs)
	$(PY) -m local_stack demo

# The tiers: lint (ruff, and the template's and the ASL's linters in tests/lint), unit (no
# network: moto in-process, the workflow deployed once per module), integration (the local stack
# end to end, one shared stack where a test needs no flags of its own). `make check` is the fast
# loop; `make test` is what CI runs.
RUFF := $(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

check: setup ## the fast tiers: ruff and the unit tests (no linters, no local stack)
	$(RUFF)
	$(PY) -m pytest tests/unit

test: setup ## every tier, as CI runs it: ruff, then lint, unit and integration tests, with coverage
	$(RUFF)
	$(PY) -m pytest tests/lint tests/unit tests/integration --cov --cov-report=term:skip-covered

lint: setup ## ruff, and cfn-lint, sam validate, checkov and statelint (tests/lint)
	$(RUFF)
	$(PY) -m pytest tests/lint

unit: setup ## unit tests only (tests/unit)
	$(PY) -m pytest tests/unit

integration: setup ## the local stack end to end (tests/integration)
	$(PY) -m pytest tests/integration

build: setup ## sam build (no Docker: each function's Makefile installs Lambda wheels)
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
