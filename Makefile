# The two commands: `make run` (embedded server) and `make test` (`make check`, then the whole suite).
# Both install what they need first, from pyproject.toml + uv.lock, into .venv.

PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
export UV_PYTHON_DOWNLOADS := never

.PHONY: install run check test fuzz bench browser stack schema

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python $(PYTHON)
	touch $@

install: $(VENV)/.synced

run: install
	$(VENV)/bin/python app.py

# The static checks, before any test runs: the import contracts in pyproject.toml
# ([tool.importlinter]: imports point down, no cycles; see docs/architecture.md).
check: install
	PYTHONPATH=. $(VENV)/bin/lint-imports

test: install check browser stack
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

# The browser tests (tests/web/test_pages_browser.py) drive Debian's chromium through Playwright
# and never download a browser; without chromium (and no apt to install it) they are skipped.
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium) \
		|| echo "chromium could not be installed: the browser tests will be skipped"

# The stack test (tests/deploy/test_stack.py) runs the compose stack's processes with Debian's
# nginx and Prometheus; without them (and no apt to install them) it is skipped, saying why.
stack:
	@(command -v nginx >/dev/null || test -x /usr/sbin/nginx) && command -v prometheus >/dev/null \
		|| (apt-get update -qq && apt-get install -y -qq --no-install-recommends nginx prometheus) \
		|| echo "nginx/prometheus could not be installed: the stack test will be skipped"

# The schema fuzzer with a large budget and fresh randomness (`make test` runs 200 operations with
# a fixed seed): FUZZ_EXAMPLES operations generated from the live schema, as every role and
# anonymous, against PostgreSQL mode; fails on any INTERNAL, 5xx, traceback or SQL text.
FUZZ_EXAMPLES ?= 2000
fuzz: install
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(VENV)/bin/python -m pytest -p no:cacheprovider \
		tests/web/test_schema_fuzz.py -k no_generated_operation $(PYTEST_ARGS)

# The API's contract: regenerate schema.graphql after changing the schema in code, then commit it.
schema: install
	$(VENV)/bin/python -m boka.schema.contract write
	$(VENV)/bin/python -m boka.schema.contract check

# Benchmarks (issue 10): each measures Boka against a baseline in the same run and prints
# ratios. Needs the test services (PostgreSQL, Redis) and wrk, which this installs if missing.
bench: install
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(VENV)/bin/python -m bench $(BENCH_ARGS)
