"""Where the installed ``libunsock.so`` and ``unsock-supervisor`` are."""

from __future__ import annotations

import platform
from pathlib import Path

from .errors import UnsockError

LIBRARY_NAME = "libunsock.so"  # the build for this system's C library
MUSL_LIBRARY_NAME = "libunsock-musl.so"  # on a glibc system, the build for musl programs
SUPERVISOR_NAME = "unsock-supervisor"
LIBCS = ("glibc", "musl")


def system_libc() -> str:
    """The C library this system (and this Python) runs on: glibc or musl."""
    return "glibc" if platform.libc_ver()[0] == "glibc" else "musl"


def library_path(libc: str | None = None) -> Path:
    """Absolute path of the shim installed beside this package, for programs of libc (default:
    the system's)."""
    here = Path(__file__).resolve()
    if libc is None or libc == system_libc():
        path = here.with_name(LIBRARY_NAME)
        if not path.is_file():
            raise UnsockError(f"{LIBRARY_NAME} is missing from {path.parent}: reinstall unsock with pip")
        return path
    if libc == "glibc":
        raise UnsockError("unsock has no glibc build of its shim on this musl system: run glibc programs with "
                          "--engine seccomp")
    path = here.with_name(MUSL_LIBRARY_NAME)
    if not path.is_file():
        raise UnsockError(f"unsock has no musl build of its shim ({MUSL_LIBRARY_NAME}): install musl-tools "
                          "(apt-get install musl-tools) and reinstall unsock, or use --engine seccomp")
    return path


def supervisor_path() -> Path:
    """Absolute path of the seccomp engine's supervisor installed beside this package."""
    path = Path(__file__).resolve().with_name(SUPERVISOR_NAME)
    if not path.is_file():
        raise UnsockError(f"{SUPERVISOR_NAME} is missing from {path.parent}: reinstall unsock with pip")
    return path
