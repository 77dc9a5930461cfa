# Two entry points for users: `make lab` and `make test`. Both create the virtual environment in
# .venv on first use, from the exact versions in requirements.lock (and again whenever it or
# pyproject.toml changes). `make check` is the quick test run for development.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LAB_ARGS ?=
# JupyterLab refuses to start as root (containers, CI) unless told that it is on purpose
ROOT_ARGS := $(if $(filter 0,$(shell id -u)),--allow-root)
# loadgroup: the tests that share one graded class run on one worker, which grades it once
PYTEST_ARGS ?= -n auto --dist loadgroup
NBGRADER_SERVER_EXTENSIONS := formgrader validate_assignment assignment_list course_list

# nbgrader starts `alembic` (its gradebook migrations) as a command, so the environment's
# bin/ must come first on PATH whenever nbgrader or the tests run.
export PATH := $(abspath $(BIN)):$(PATH)

CLASSROOM_ARGS ?=

.PHONY: lab instructor classroom test check lint notebooks bench experiment lock clean

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else \
		"Python 3.11 or newer is needed, found " + sys.version.split()[0] + \
		": run make with PYTHON=/path/to/python3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { \
		echo "Could not create $(VENV). On Debian/Ubuntu: sudo apt-get install python3-venv"; \
		exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@for ext in $(NBGRADER_SERVER_EXTENSIONS); do \
		$(BIN)/jupyter server extension enable --sys-prefix nbgrader.server_extensions.$$ext \
			>/dev/null 2>&1 || exit 1; done
	$(BIN)/jupyter labextension enable --level=sys_prefix @jupyter/nbgrader >/dev/null
	touch $(STAMP)

## make lab: set everything up and open the course in JupyterLab
lab: $(STAMP)
	$(BIN)/jupyter lab --ServerApp.root_dir=notebooks $(ROOT_ARGS) $(LAB_ARGS)

## make instructor: JupyterLab in the nbgrader course directory (formgrader, create assignment)
instructor: $(STAMP)
	cd autograder/course && $(abspath $(BIN))/jupyter lab $(ROOT_ARGS) $(LAB_ARGS)

## make classroom: a class on this machine, as root: JupyterHub with an instructor and two students,
## nbgrader's exchange, assignment list and formgrader (prints the URL and the accounts; Ctrl-C
## stops it and removes the system users it made). CLASSROOM_ARGS="--help" lists the options.
classroom: $(STAMP)
	$(BIN)/python -m autograder.hub $(CLASSROOM_ARGS)

## make test: the whole test suite, the end-to-end tests (marked slow) included
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## make lint: ruff (lint and format) and pyright (basic mode) on the whole tree, as CI runs them
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pyright --project pyproject.toml

## make lock: refresh requirements.lock, the exact versions `make lab` and CI install, from the
## ranges in pyproject.toml (commit the result after `make test` passes with it)
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra classroom --universal \
		--python-version 3.11 \
		--upgrade --custom-compile-command "make lock" -o requirements.lock

## make check: every test not marked slow, i.e. none that starts a kernel, nbgrader, the sandbox,
## JupyterLab, a browser, PostgreSQL or Dask (just under 3 minutes on 2 busy cores)
check: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

## make notebooks: rebuild instructor and student notebooks from autograder/course/src
notebooks: $(STAMP)
	$(BIN)/python -m autograder.build

## make bench: speed ratios of the dropout layer against baselines and of training the MLP
## against PyTorch (if installed), what the grading sandbox costs and skipping demonstration
## cells saves, per notebook, how long every slider of every notebook takes to redraw, and how
## fast a class of 30 is graded with 1 and 2 workers against nbgrader autograde (wall-clock
## and CPU seconds); it ends with one table of every target and what this run measured
BENCH_TARGETS := build/bench-targets.jsonl
bench: $(STAMP)
	@mkdir -p build && rm -f $(BENCH_TARGETS)
	BENCH_TARGETS=$(BENCH_TARGETS) $(BIN)/python benchmarks/bench_dropout.py
	BENCH_TARGETS=$(BENCH_TARGETS) $(BIN)/python benchmarks/bench_mlp.py
	$(BIN)/python benchmarks/bench_sandbox.py
	BENCH_TARGETS=$(BENCH_TARGETS) $(BIN)/python benchmarks/bench_widgets.py
	BENCH_TARGETS=$(BENCH_TARGETS) $(BIN)/python benchmarks/bench_grading.py
	$(BIN)/python benchmarks/targets.py $(BENCH_TARGETS)

## make experiment: test error on digits with and without dropout, 10 seeds, with 95% t-intervals
## and the paired difference (20 training runs, two at a time; the README quotes the record of
## this command, course_lib/experiments_digits.json, and says how long it took)
EXPERIMENT_ARGS := --p-drop 0 --p-drop 0.1,0.3,0.3 --hidden 256 256 --epochs 150 \
	--seeds 0 1 2 3 4 5 6 7 8 9
experiment: $(STAMP)
	$(BIN)/python -m course_lib.experiments $(EXPERIMENT_ARGS) --workers 2

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis *.egg-info
