# Quick start: `make demo` and `make test` do all set-up themselves.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

SOURCES := pyproject.toml meson.build $(wildcard src/shim/*.c src/shim/*.h src/shim/meson.build src/unsock/*.py)

.PHONY: all install demo test lint clean

all: install

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): $(PY) $(SOURCES)
	$(PY) -m pip install --quiet '.[test]'
	touch $@

install: $(STAMP)

demo: install
	$(PY) tools/demo.py

lint: install
	$(PY) -m ruff check src tests tools
	$(PY) -m mypy

test: install lint
	$(PY) -m pytest -q tests

clean:
	rm -rf $(VENV) build dist tests/.build
