# The two commands of the README:
#   make run    set up the environment if needed, then run the local pipeline (ARGS="..." for flags)
#   make test   set up the environment if needed, then lint, run every test and build the manual
# Both work on a machine that has never seen the project: Python 3.10 (pyenv; see .python-version)
# and PyPI are all they need.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.synced
PYTEST_ARGS ?=

.PHONY: run test lint docs env clean ui ui-test

$(STAMP): pyproject.toml uv.lock
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 10), "need Python 3.10, got " + sys.version'
	$(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	$(PYTHON) -m uv sync --frozen --compile-bytecode --python $$($(PYTHON) -c 'import sys; print(sys.executable)')
	touch $@

env: $(STAMP)

run: $(STAMP)
	$(PY) local_runner.py $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The manual (docs/, mkdocs.yml) into site/; --strict: a broken link or a missing page fails.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

test: lint docs
	$(PY) -m pytest -ra $(PYTEST_ARGS)

# The Kubeflow Pipelines UI over local runs (docs/kfp-ui.md). Not part of the two commands above:
# it needs Node 20.19+ with npm, a git copy of kubeflow/pipelines and a few minutes.
#   make ui KFP_SRC=DIR   build the frontend of the pinned tag (babyweight/ui/build.py: KFP_TAG,
#                         KFP_COMMIT) into .ui/ (ignored); DIR: a clone or a bare git dir
#   make ui-test          the UI's tests, the headless-Chromium ones included
KFP_SRC ?=

ui: $(STAMP)
	@test -n "$(KFP_SRC)" || { echo "make ui: set KFP_SRC to a git copy of kubeflow/pipelines (git clone https://github.com/kubeflow/pipelines)" >&2; exit 2; }
	$(PY) -m babyweight.ui.build --src "$(KFP_SRC)" --dest .ui

ui-test: $(STAMP)
	$(PY) -m pytest -ra tests/ui $(PYTEST_ARGS)

clean:
	rm -rf outputs site
