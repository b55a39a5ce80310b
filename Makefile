# Two commands on a fresh machine: `make demo` and `make test`. Each creates .venv first when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install browser demo test test-unit test-integration lint bench schemas screenshots clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "crisis-cell needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $(STAMP)

# The console's browser tests drive Debian's Chromium through its ChromeDriver: installed here
# when missing (as root, or with sudo).
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
		echo "installing Debian's chromium and chromium-driver for the console's browser tests"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get install -y -q chromium chromium-driver >/dev/null \
			|| { $$SUDO apt-get update -q >/dev/null && $$SUDO apt-get install -y -q chromium chromium-driver >/dev/null; }; \
	fi

demo: $(STAMP)
	$(BIN)/crisis demo

test: $(STAMP) browser
	$(BIN)/pytest

screenshots: $(STAMP) browser
	CRISIS_SCREENSHOTS=docs/screenshots $(BIN)/pytest tests/integration/test_console_browser.py

test-unit: $(STAMP)
	$(BIN)/pytest -m "unit or service"

test-integration: $(STAMP)
	$(BIN)/pytest -m integration

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,bench]'
	$(BIN)/python -m bench

schemas: $(STAMP)
	$(BIN)/crisis schemas export schemas/json

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
