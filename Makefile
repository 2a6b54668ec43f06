# Every target creates .venv and installs what it needs; nothing else is assumed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export QT_QPA_PLATFORM ?= offscreen

.PHONY: test typecheck pytest docs dist demo bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

$(VENV)/.demo-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[demo]'
	touch $@

$(VENV)/.docs-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[docs]'
	touch $@

## make test: mypy --strict on src/, demo_app and benchmarks, the docs site (--strict, with its
## offline check), then the whole pytest suite, headless (it runs every docs sample as written,
## and builds the sdist and wheel, twine-checks them and smoke-tests the wheel in a fresh venv)
test: typecheck docs pytest

typecheck: $(VENV)/.dev-installed
	$(BIN)/python -m mypy --strict src/ demo_app benchmarks

pytest: $(VENV)/.dev-installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## make docs: build the documentation site into site/; a broken link or anchor, or a public
## object without a docstring (docs/hooks/api_checks.py), fails the build
docs: $(VENV)/.docs-installed
	NO_MKDOCS_2_WARNING=1 $(BIN)/python -m mkdocs build --strict --site-dir site

## make dist: the release files, dist/qbackground-<version>.tar.gz and -py3-none-any.whl
## (python -m build: the wheel is built from the sdist), checked with twine check --strict
dist: $(VENV)/.dev-installed
	rm -rf dist
	$(BIN)/python -m build --outdir dist
	$(BIN)/python -m twine check --strict dist/*

## make demo [DEMO_ARGS=--smoke]: open the demo window (--smoke: run it headless and exit)
demo: $(VENV)/.demo-installed
	$(BIN)/python -m demo_app $(DEMO_ARGS)

## make bench: qbackground vs superqt vs raw QThreadPool; writes benchmarks/results.md
bench: $(VENV)/.dev-installed
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .hypothesis dist build site
