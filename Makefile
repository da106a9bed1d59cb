# Two commands matter (see README): `make run` and `make test`. Both build the
# development environment first: one virtual environment with every distribution
# of this repository installed in editable mode.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DISTRIBUTIONS := shared services/intake services/deadlines services/letters services/learning services/reporting
STAMP := $(VENV)/.installed

.PHONY: run test lint schemas asyncapi clean

$(STAMP): $(foreach d,$(DISTRIBUTIONS),$(d)/pyproject.toml) requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt $(foreach d,$(DISTRIBUTIONS),-e ./$(d))
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/complaints up

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/complaints schemas --check
	.ci/validate-asyncapi
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

schemas: $(STAMP)
	$(BIN)/complaints schemas

# Validate docs/api/asyncapi.json with the AsyncAPI CLI, installed into .tools/ on first
# use (skipped, saying so, where npm is missing). `make test` runs it too.
asyncapi:
	.ci/validate-asyncapi

clean:
	rm -rf $(VENV) data .tools
