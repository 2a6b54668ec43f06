# Every target creates .venv and installs what it needs; nothing else is assumed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export QT_QPA_PLATFORM ?= offscreen

.PHONY: test typecheck pytest pytest-pyside6 pytest-pyqt6 test-matrix test-matrix-contract docs dist demo bench clean

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
## offline check), then the whole pytest suite, headless, on PySide6 and again on PyQt6 (it runs
## every docs sample as written, and builds the sdist and wheel, twine-checks them and
## smoke-tests the wheel in a fresh venv); a few minutes per binding
test: typecheck docs pytest

typecheck: $(VENV)/.dev-installed
	$(BIN)/python -m mypy --strict src/ demo_app benchmarks

## make pytest [PYTEST_ARGS=...]: the pytest suite (or PYTEST_ARGS' selection) with QT_API=pyside6,
## then with QT_API=pyqt6; both always run, and it fails if either failed
pytest: $(VENV)/.dev-installed
	@status=0; for api in pyside6 pyqt6; do \
	    echo "== pytest on $$api (QT_API=$$api)"; \
	    QT_API=$$api $(BIN)/python -m pytest $(PYTEST_ARGS) || status=1; \
	done; exit $$status

## make pytest-pyside6 / make pytest-pyqt6 [PYTEST_ARGS=...]: the same on one binding
pytest-pyside6 pytest-pyqt6: $(VENV)/.dev-installed
	QT_API=$(@:pytest-%=%) $(BIN)/python -m pytest $(PYTEST_ARGS)

## make test-matrix [NOX_ARGS=...]: the whole suite on Python 3.11, 3.12 and 3.13, each on PySide6
## and on PyQt6 (nox, noxfile.py; one venv per combination in .nox/, kept between runs); a missing
## interpreter fails it. NOX_ARGS='-s "tests-3.12(pyqt6)" -- tests/test_owner.py' runs one part
test-matrix: $(VENV)/.dev-installed
	$(BIN)/python -m nox $(NOX_ARGS)

## make test-matrix-contract: the contract suite (noxfile.py's CONTRACT) on the same six
## combinations and venvs; .ci/run runs it after make test
test-matrix-contract: $(VENV)/.dev-installed
	$(BIN)/python -m nox $(NOX_ARGS) -- contract

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
	rm -rf $(VENV) .nox .mypy_cache .pytest_cache .hypothesis dist build site
