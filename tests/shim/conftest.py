"""Fixtures of the focused shim tests: the shim with a narrow covered range
(so that 127.0.0.1 stays real TCP for comparison) and compiled C probes.

Every program runs under the installed libunsock.so unless UNSOCK_TEST_PRELOAD
names another LD_PRELOAD value, e.g. a sanitizer build of src/core/*.c and src/preload/*.c:
    UNSOCK_TEST_PRELOAD="$(gcc -print-file-name=libasan.so) /tmp/libunsock-asan.so"
    ASAN_OPTIONS=detect_leaks=0 .venv/bin/python -m pytest -q tests/shim
`make test-asan` does that (tests/helpers/asan_pass.py), for the glibc variants.
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


def probe_builder(libc: str) -> Callable[[str], Path]:
    built: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in built:
            built[name] = compile_prog(PROGS / f"{name}.c", [PROGS / "probe.h"], musl=libc == "musl")
        return built[name]

    return get


@pytest.fixture(scope="session", params=["glibc", "musl"])
def cprog(request: pytest.FixtureRequest) -> Callable[[str], Path]:
    """cprog("name") compiles progs/name.c (with progs/probe.h) once per session, once with the
    system's compiler and once as a dynamically linked musl program (`musl-gcc`): every test of a
    probe runs under both builds of the shim (tests.helpers.proc.for_program picks the musl one),
    with the same expectations."""
    return probe_builder(str(request.param))


@pytest.fixture(scope="session")
def glibc_prog() -> Callable[[str], Path]:
    """cprog for the probes that only glibc's API makes meaningful (closeall: musl has no
    close_range() or closefrom(); a musl program makes the system call, which no shim sees)."""
    return probe_builder("glibc")
