# `make demo` and `make test` work on a fresh machine with Python >= 3.11: they build .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# every distribution of the repository: each aura_* folder with a pyproject.toml
PACKAGES := $(patsubst %/pyproject.toml,%,$(wildcard aura_*/pyproject.toml))
STAMP := $(VENV)/.installed

.PHONY: venv demo test test-lowest lint bench docs clean

venv: $(STAMP)

$(STAMP): requirements-dev.txt $(foreach p,$(PACKAGES),$(p)/pyproject.toml)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt $(foreach p,$(PACKAGES),-e ./$(p))
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/render_all.py --out out

# the report.html test opens the page in Debian's chromium: installed here when missing and run as root (else that test is skipped)
test-browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq chromium; } || echo "chromium is missing: the report.html test will be skipped (as root: apt-get install -y chromium)"

test: $(STAMP) test-browser
	$(BIN)/python -m pytest

# The suite again, in .venv-lowest, with every direct dependency at the lowest version its floor allows
# (each aura_*/pyproject.toml's and requirements-dev.txt's; transitive ones at their newest), so a floor cannot lie.
# uv (from .venv) resolves them into .venv-lowest/lowest.txt, then makes the venv exactly that.
LOWEST := .venv-lowest
test-lowest: $(STAMP) test-browser
	test -x $(LOWEST)/bin/python || $(BIN)/uv venv --quiet --python $(BIN)/python $(LOWEST)
	printf -- '-e ./%s\n' $(PACKAGES) | $(BIN)/uv pip compile --quiet --python $(LOWEST)/bin/python --resolution lowest-direct --output-file $(LOWEST)/lowest.txt - requirements-dev.txt
	$(BIN)/uv pip sync --quiet --python $(LOWEST)/bin/python $(LOWEST)/lowest.txt
	$(LOWEST)/bin/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/run.py

# the documentation site, built into site/ (fails on a broken link or a page missing from the nav)
docs: $(STAMP)
	test -x $(BIN)/mkdocs || $(BIN)/python -m pip install --quiet mkdocs
	$(BIN)/mkdocs build --strict --site-dir site

clean:
	rm -rf $(VENV) $(LOWEST) out runs
