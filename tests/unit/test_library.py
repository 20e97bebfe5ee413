"""Which build of the shim a program gets: on glibc systems libunsock.so for glibc programs and
libunsock-musl.so for musl ones; on a musl system (Alpine) libunsock.so is the musl build and
glibc programs have none (the seccomp engine serves them)."""

from __future__ import annotations

from pathlib import Path

import pytest

import unsock.engines.choose
import unsock.library
from unsock.engines.choose import choose
from unsock.errors import UnsockError
from unsock.library import library_path


@pytest.fixture
def on_musl(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in (unsock.library, unsock.engines.choose):
        monkeypatch.setattr(module, "system_libc", lambda: "musl")


def test_glibc_system() -> None:
    assert library_path().name == "libunsock.so"
    assert library_path("glibc") == library_path()


@pytest.mark.usefixtures("on_musl")
def test_musl_system_has_one_build() -> None:
    assert library_path("musl") == library_path() and library_path().name == "libunsock.so"
    with pytest.raises(UnsockError, match="no glibc build of its shim on this musl system: run glibc programs "
                                          "with --engine seccomp"):
        library_path("glibc")


@pytest.mark.usefixtures("on_musl")
def test_musl_system_sends_glibc_programs_to_the_supervisor() -> None:
    sh = Path("/bin/sh").resolve()
    choice = choose(str(sh), {})
    assert choice.engine == "seccomp" and "linked against glibc, for which unsock has no shim" in choice.why
