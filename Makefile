# Two entry points, each sets itself up on a fresh machine (a virtual environment in .venv):
#   make grade   the instructor's round trip on one class (05's examples): release, autograde, feedback,
#                export, grade table; `make grade-all` does it for every assignment
#   make test    lint, unit tests (the release check among them), the graded examples and nbval over every
#                solution notebook
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: grade grade-all test release assets clean sandbox colab-twin

# --clear: a first install interrupted half-way (Ctrl-C during TensorFlow) leaves no stamp, and the
# next run starts from an empty environment instead of trusting half-installed packages.
# -qq: pip's errors only (its per-index "Location ... is ignored" warnings and the build backend's
# notes are noise to an instructor); a failed install still stops make with pip's error.
$(STAMP): requirements.txt pyproject.toml
	@echo "setting up $(VENV): Python packages from requirements.txt (a few minutes the first time)"
	$(PYTHON) -m venv --clear $(VENV)
	$(BIN)/python -m pip install -qq --upgrade pip
	$(BIN)/python -m pip install -qq -r requirements.txt
	$(BIN)/python -m pip install -qq --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Submissions are graded inside bubblewrap (no network, private view of the disk).
sandbox:
	@command -v bwrap >/dev/null || { echo "installing bubblewrap (the grading sandbox)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq bubblewrap >/dev/null; }

grade: $(STAMP) sandbox
	$(BIN)/course roundtrip

grade-all: $(STAMP) sandbox
	$(BIN)/course roundtrip --all

test: $(STAMP) sandbox
	$(BIN)/ruff check .
	ZIZMOR=$(BIN)/zizmor .ci/lint-workflows
	$(BIN)/course assets prepare
	$(BIN)/python -m devtools.nbval_notebooks build/nbval
	@# nbval runs one kernel at a time and leaves a core idle for a third of its run (vmstat): it runs beside
	@# the test suite, in a session of its own, and its report is printed after the suite's. The suite runs
	@# its light tests first (beside nbval) and the graded examples' pool last (tests/conftest.py).
	@# Its kernels get a temporary directory in build/: stopped by nbval, they leave TensorFlow's
	@# generated autograph files behind.
	rm -rf build/tmp && mkdir -p build/tmp
	TMPDIR=$(CURDIR)/build/tmp $(BIN)/python -m pytest -ra build/nbval --nbval-lax --durations=5 \
	  -p no:cacheprovider --basetemp=build/nbval-tmp > build/nbval.log 2>&1 & nbval=$$!; \
	$(BIN)/python -m pytest -ra tests --durations=10; suite=$$?; \
	wait $$nbval; status=$$?; cat build/nbval.log; \
	echo "test suite exit $$suite, nbval exit $$status"; [ $$suite -eq 0 ] && [ $$status -eq 0 ]

release: $(STAMP)
	$(BIN)/course release

# The Colab twin (docs/colab.md): Colab's Python and package versions (data/colab/pip-freeze.txt), every
# solution notebook started through its Colab copy's set-up cell. Its environment is rebuilt when the
# freeze or the pins change; COLAB_PYTHON=/path/to/python3.13 names the interpreter.
COLAB_TWIN := build/colab-twin/.venv/.installed
$(COLAB_TWIN): data/colab/pip-freeze.txt data/colab/SOURCE.toml requirements.txt pyproject.toml devtools/colab_freeze.py
	.ci/colab-twin env

colab-twin: $(COLAB_TWIN)
	.ci/colab-twin run

assets: $(STAMP)
	$(BIN)/course assets status

clean:
	rm -rf build .cache
