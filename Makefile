# One-command entry points. `make demo` and `make test` work on a fresh machine: they create
# .venv, install the course (torch pinned to the CPU-friendly 2.13.0) and the course kernel.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

ASSIGNMENT  ?= 01_optimization
SUBMISSIONS ?= submitted
WORKERS     ?= 2
DEVICE      ?= cpu

.PHONY: setup demo test test-fast lint release build check grade bench slides lab clean

setup: $(STAMP) $(NODE_STAMP)

$(STAMP): pyproject.toml
	@# bubblewrap sandboxes the students' kernels when grading (Debian/Ubuntu package)
	command -v bwrap >/dev/null || [ "$$(id -u)" != 0 ] || apt-get install -y -qq bubblewrap \
		|| (apt-get update -qq && apt-get install -y -qq bubblewrap)
	command -v bwrap >/dev/null || echo "warning: install bubblewrap (bwrap) to grade"
	@# headless chromium runs the browser tests (tests/test_browser.py), never a downloaded one
	command -v chromium >/dev/null || [ "$$(id -u)" != 0 ] || apt-get install -y -qq chromium \
		|| (apt-get update -qq && apt-get install -y -qq chromium)
	command -v chromium >/dev/null \
		|| echo "warning: install chromium (apt-get install -y chromium) for the browser tests"
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m ipykernel install --sys-prefix --name cvcourse --display-name "Python 3 (cvcourse)"
	@# formgrader in any Jupyter of this venv: Autograde points to the pipeline, maths offline
	mkdir -p $(VENV)/etc/jupyter/jupyter_server_config.d
	echo '{"ServerApp": {"jpserver_extensions": {"autograder.lab": true}}}' \
		> $(VENV)/etc/jupyter/jupyter_server_config.d/autograder.json
	mkdir -p $(VENV)/share/jupyter/lab/settings
	cp .jupyter/overrides.json $(VENV)/share/jupyter/lab/settings/overrides.json
	touch $(STAMP)

# reveal.js and KaTeX, pinned by package.json + package-lock.json: decks and feedback load them
# from here, never from a CDN. Needs Node.js and npm (installed from Debian when run as root).
$(NODE_STAMP): package.json package-lock.json
	command -v npm >/dev/null || [ "$$(id -u)" != 0 ] || apt-get install -y -qq nodejs npm \
		|| (apt-get update -qq && apt-get install -y -qq nodejs npm) || true
	@command -v npm >/dev/null || { echo "error: npm not found. Install Node.js and npm \
	(apt-get install -y nodejs npm): the offline slides and the maths in feedback need them" >&2; \
	exit 1; }
	npm ci --ignore-scripts --no-audit --no-fund
	touch $(NODE_STAMP)

# Build the course, write a sample class (correct, wrong, hanging, crashing, cheating ...
# students) and grade it in parallel: grades, feedback and the class report land in reports/.
demo: $(STAMP) $(NODE_STAMP)
	$(PY) -m autograder build
	rm -rf demo
	$(PY) -m autograder sample-class $(ASSIGNMENT) --out demo/submissions
	$(PY) -m autograder grade $(ASSIGNMENT) --submissions demo/submissions \
		--workers $(WORKERS) --cell-timeout 10 --force

grade: $(STAMP) $(NODE_STAMP)
	$(PY) -m autograder grade $(ASSIGNMENT) --submissions $(SUBMISSIONS) \
		--workers $(WORKERS) --device $(DEVICE)

# Per notebook: a student's Run All, nbgrader autograde and the pipeline (1 and WORKERS workers)
# on the same model submissions; BENCH="01_optimization 02_gradients" for fewer notebooks
BENCH ?=
bench: $(STAMP)
	$(PY) -m autograder bench $(BENCH) --submissions 2 --workers $(WORKERS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

test: lint $(NODE_STAMP)
	$(PY) -m pytest -n 2 --dist loadscope --durations=20

# everything but the tests marked slow (notebooks, kernels, nbgrader runs): under a minute
test-fast: lint $(NODE_STAMP)
	$(PY) -m pytest -n 2 -m "not slow" --durations=10

release build: $(STAMP)
	$(PY) -m autograder build

check: $(STAMP)
	$(PY) -m autograder build --check

# Every walkthrough, executed, as an offline reveal.js deck: slides/NN_slug.slides.html, with
# reveal.js and KaTeX copied to slides/assets/ (open the file in any browser, no network)
slides: $(STAMP) $(NODE_STAMP)
	$(PY) -m autograder.deck

# JupyterLab on the course, 127.0.0.1 only (open the printed URL: it carries the token), with
# the nbgrader extensions: Validate, the Assignments tab (local exchange in exchange/, students'
# copies in work/) and Formgrader. LAB_PORT=8890 picks the port.
lab: $(STAMP)
	$(PY) -m autograder lab $(if $(LAB_PORT),--port $(LAB_PORT))

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info node_modules slides
