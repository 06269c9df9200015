# Two commands for a new user: `make book` and `make test`. Both set up .venv from the lock file first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)
PYTEST_ARGS ?=

.PHONY: install book pdf test test-pdf test-slow layers bench lock clean chromium browser

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11 is needed, found " + sys.version.split()[0]) if sys.version_info[:2] != (3, 11) else None'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

## install: set up .venv from requirements.lock (idempotent)
install: $(STAMP)

## book: build the book from the built-in synthetic demo cohort into _build/html
book: install
	$(BIN)/sonimage build --jobs 2

## pdf: the book and its PDF, _build/sonimage-sap-<version>.pdf (WeasyPrint, pinned in requirements.lock)
pdf: install
	$(BIN)/sonimage build --jobs 2 --pdf

## test: the test suite (slow statistical checks excluded; run them with `make test-slow`)
test: install
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

## test-pdf: build the demo book's PDF and check it (tests/test_pdf.py: one demo build with --pdf, ~95 s of CPU)
test-pdf: install
	$(BIN)/python -m pytest -m pdf tests/test_pdf.py $(PYTEST_ARGS)

## chromium: Debian's chromium for the browser test (apt-get as root, or with sudo; nothing when present)
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends chromium; }

## browser: the browser test (tests/test_browser.py) on the demo book, in headless Chromium
browser: install chromium
	SONIMAGE_REQUIRE_BROWSER=1 $(BIN)/python -m pytest tests/test_browser.py $(PYTEST_ARGS)

test-slow: install
	$(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

## layers: check the import contracts of pyproject.toml (also part of `make test`)
layers: install
	$(BIN)/lint-imports --no-cache

## bench: print the build benchmarks
bench: install
	$(BIN)/python benchmarks/build.py

## lock: re-resolve pyproject.toml into requirements.lock and environment.yml (needs the registries)
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet --disable-pip-version-check ".[test,pdf]"
	.venv-lock/bin/python -m pip freeze --exclude-editable --disable-pip-version-check | grep -v '^sonimage-utils' > requirements.lock
	.venv-lock/bin/python tools/write_environment.py
	rm -rf .venv-lock

clean:
	rm -rf _build
