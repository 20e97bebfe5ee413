"""Where the installed ``libunsock.so`` and ``unsock-supervisor`` are."""

from __future__ import annotations

from pathlib import Path

from .errors import UnsockError

LIBRARY_NAME = "libunsock.so"
SUPERVISOR_NAME = "unsock-supervisor"


def library_path() -> Path:
    """Absolute path of the shim installed beside this package."""
    path = Path(__file__).resolve().with_name(LIBRARY_NAME)
    if not path.is_file():
        raise UnsockError(f"{LIBRARY_NAME} is missing from {path.parent}: reinstall unsock with pip")
    return path


def supervisor_path() -> Path:
    """Absolute path of the seccomp engine's supervisor installed beside this package."""
    path = Path(__file__).resolve().with_name(SUPERVISOR_NAME)
    if not path.is_file():
        raise UnsockError(f"{SUPERVISOR_NAME} is missing from {path.parent}: reinstall unsock with pip")
    return path
