# One-command entry points. `make demo` and `make test` work on a fresh machine: they create
# .venv, install the course (torch pinned to the CPU-friendly 2.13.0) and the course kernel.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

ASSIGNMENT  ?= 01_optimization
SUBMISSIONS ?= submitted
WORKERS     ?= 2
DEVICE      ?= cpu

.PHONY: setup demo test test-fast lint release build check grade bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@# bubblewrap sandboxes the students' kernels when grading (Debian/Ubuntu package)
	command -v bwrap >/dev/null || [ "$$(id -u)" != 0 ] || apt-get install -y -qq bubblewrap \
		|| (apt-get update -qq && apt-get install -y -qq bubblewrap)
	command -v bwrap >/dev/null || echo "warning: install bubblewrap (bwrap) to grade"
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m ipykernel install --sys-prefix --name cvcourse --display-name "Python 3 (cvcourse)"
	mkdir -p $(VENV)/share/jupyter/lab/settings
	cp .jupyter/overrides.json $(VENV)/share/jupyter/lab/settings/overrides.json
	touch $(STAMP)

# Build the course, write a sample class (correct, wrong, hanging, crashing, cheating ...
# students) and grade it in parallel: grades, feedback and the class report land in reports/.
demo: $(STAMP)
	$(PY) -m autograder build
	rm -rf demo
	$(PY) -m autograder sample-class $(ASSIGNMENT) --out demo/submissions
	$(PY) -m autograder grade $(ASSIGNMENT) --submissions demo/submissions \
		--workers $(WORKERS) --cell-timeout 10 --force

grade: $(STAMP)
	$(PY) -m autograder grade $(ASSIGNMENT) --submissions $(SUBMISSIONS) \
		--workers $(WORKERS) --device $(DEVICE)

bench: $(STAMP)
	$(PY) -m autograder bench $(ASSIGNMENT) --submissions 6 --workers $(WORKERS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

test: lint
	$(PY) -m pytest -n 2 --dist loadscope --durations=20

# everything but the tests marked slow (notebooks, kernels, nbgrader runs): under a minute
test-fast: lint
	$(PY) -m pytest -n 2 -m "not slow" --durations=10

release build: $(STAMP)
	$(PY) -m autograder build

check: $(STAMP)
	$(PY) -m autograder build --check

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
