# One-command entry points. `make demo` and `make test` work on a fresh machine: they create
# .venv, install the course (torch pinned to the CPU-friendly 2.13.0) and the course kernel.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: setup demo test lint release build check clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m ipykernel install --sys-prefix --name cvcourse --display-name "Python 3 (cvcourse)"
	mkdir -p $(VENV)/share/jupyter/lab/settings
	cp .jupyter/overrides.json $(VENV)/share/jupyter/lab/settings/overrides.json
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m autograder build
	$(PY) -m autograder validate source/*/*.ipynb

lint: $(STAMP)
	$(VENV)/bin/ruff check .

test: lint
	$(PY) -m pytest -n 2 --dist loadgroup --durations=20

release build: $(STAMP)
	$(PY) -m autograder build

check: $(STAMP)
	$(PY) -m autograder build --check

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
