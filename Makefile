# Quick start: `make demo` and `make test` do all set-up themselves.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

SOURCES := pyproject.toml meson.build src/unsock/VERSION $(wildcard build-aux/*.py) $(shell find src -name "*.[ch]" -o -name "*.py" -o -name meson.build -o -name py.typed)

.PHONY: all install demo test test-asan lint clean

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
	$(PY) -m ruff check src tests tools benchmarks fuzz build-aux
	$(PY) -m mypy

# The second pass runs what drives the shim again with early sockets off (UNSOCK_IP_AT_SOCKET=1,
# README "Performance"): the programs must not tell the difference either way.
test: install lint
	$(PY) -m pytest -q tests
	UNSOCK_IP_AT_SOCKET=1 $(PY) -m pytest -q tests/shim tests/musl tests/integration
	$(MAKE) --no-print-directory test-asan

# tests/shim with the shim built with ASan+UBSan, any sanitizer report failing the pass (issue 13;
# tests/helpers/asan_pass.py). Glibc probes only: a musl program takes the musl build of the shim.
test-asan: install
	$(PY) -m tests.helpers.asan_pass

# Benchmarks (not tests; see README "Performance"): `make bench BENCH_ARGS="--pin"`.
# matplotlib (the `bench` extra in pyproject.toml) is installed for this target only.
BENCH_ARGS  ?=
BENCH_STAMP := $(VENV)/.bench-installed

.PHONY: bench

$(BENCH_STAMP): $(STAMP)
	$(PY) -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['bench'])" | xargs $(PY) -m pip install --quiet
	touch $@

bench: install $(BENCH_STAMP)
	$(PY) -m benchmarks $(BENCH_ARGS)

# Coverage-guided fuzzing of the C input readers (fuzz/, libFuzzer with ASan and UBSan): every
# target for FUZZ_SECONDS each, then the C-vs-Python differential check; fails on any finding.
FUZZ_SECONDS ?= 60

.PHONY: fuzz

fuzz: install
	$(PY) -m fuzz --seconds $(FUZZ_SECONDS)

clean:
	rm -rf $(VENV) build dist tests/.build
