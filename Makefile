# One command to see it work (make demo), one more to prove it (make test).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip

.PHONY: demo demo-crm test lint install dev postgres chromium bench clean constraints

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# constraints.txt pins what `make demo` and `make test` install (the versions CI last passed
# with), so a new release upstream cannot break a build that passed; `pip install .` for users
# stays unpinned. Refresh it with `make constraints`.
$(VENV)/.installed: $(BIN)/python pyproject.toml setup.py constraints.txt
	$(PIP) install --quiet -c constraints.txt -e .
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed
	$(PIP) install --quiet -c constraints.txt -e '.[dev]'
	touch $@

constraints:
	rm -rf .venv-constraints && $(PYTHON) -m venv .venv-constraints
	.venv-constraints/bin/python -m pip install --quiet -e '.[dev]'
	.venv-constraints/bin/python -m pip freeze --all --exclude-editable | grep -v -e '^socialsell' -e '^pip==' > constraints.txt
	rm -rf .venv-constraints

install: $(VENV)/.installed

dev: $(VENV)/.dev-installed

demo: install
	$(BIN)/socialsell demo

# the demo synced to a local fake HubSpot (tests/hubspot_fake.py, at the HTTP layer): leads,
# tasks and notes once each, and a deal closed there as revenue on its post (docs/crm.md)
demo-crm: install
	$(BIN)/python -m tests.demo_crm

# PostgreSQL's server is needed by the storage and multi-worker tests. The test setup starts its
# own throwaway server; this only makes sure the binaries exist.
postgres:
	@bash .ci/ensure-postgres

# Debian's chromium opens the HTML report in a real browser in one test (tests/test_report_browser.py);
# installed like PostgreSQL when missing and running as root, else that test is skipped.
chromium:
	@bash .ci/ensure-chromium

# ruff for style; lint-imports for the architecture's import rules ([tool.importlinter] in pyproject.toml)
lint: dev
	$(BIN)/ruff check socialsell plugins tests bench
	$(BIN)/lint-imports

test: dev postgres chromium lint
	$(BIN)/python -m pytest -q --cov --cov-report=term:skip-covered $(PYTEST_ARGS)

# every figure is printed with its ratio and target, then as one JSON line, also appended to
# bench/results.jsonl (SOCIALSELL_BENCH_RESULTS=path to write elsewhere; bench/README.md "Results")
bench: dev postgres
	@status=0; for f in bench/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || status=1; done; \
	echo "figures appended to $${SOCIALSELL_BENCH_RESULTS:-bench/results.jsonl}"; \
	if [ $$status -ne 0 ]; then echo "a benchmark missed its target (see above)"; fi; exit $$status

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
