"""Fixtures of the focused shim tests: the shim with a narrow covered range
(so that 127.0.0.1 stays real TCP for comparison) and compiled C probes.

Every program runs under the installed libunsock.so unless UNSOCK_TEST_PRELOAD
names another LD_PRELOAD value, e.g. a sanitizer build of src/core/*.c and src/preload/*.c:
    UNSOCK_TEST_PRELOAD="$(gcc -print-file-name=libasan.so) /tmp/libunsock-asan.so"
    ASAN_OPTIONS=detect_leaks=0 .venv/bin/python -m pytest -q tests/shim
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers.cprog import compile_prog
from tests.helpers.shim import PROGS, Shim

# Covered by the `unsock` fixture of this directory; 127.0.0.1 is not.
COVERED = "127.0.0.2"
REAL = "127.0.0.1"


@pytest.fixture
def unsock(sockdir: Path) -> Iterator[Shim]:
    u = Shim(sockdir, addr=f"{COVERED}/32")
    try:
        yield u
    finally:
        u.stop_all()


@pytest.fixture(scope="session")
def cprog() -> Callable[[str], Path]:
    """cprog("name") compiles progs/name.c (with progs/probe.h) once per session."""
    built: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in built:
            built[name] = compile_prog(PROGS / f"{name}.c", [PROGS / "probe.h"])
        return built[name]

    return get
