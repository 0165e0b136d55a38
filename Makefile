# Two entry points, each sets itself up on a fresh machine (a virtual environment in .venv):
#   make grade   the instructor's round trip: release, autograde the example submissions, grade table
#   make test    lint, release check, unit tests, the round trip and nbval over every solution notebook
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: grade test release assets clean

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

grade: $(STAMP)
	$(BIN)/course roundtrip

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/course release --check
	$(BIN)/course assets prepare
	$(BIN)/python -m grader.nbval_notebooks build/nbval
	$(BIN)/python -m pytest -ra tests build/nbval --nbval-lax --durations=10

release: $(STAMP)
	$(BIN)/course release

assets: $(STAMP)
	$(BIN)/course assets status

clean:
	rm -rf build .cache
