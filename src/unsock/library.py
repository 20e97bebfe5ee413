"""Where the installed ``libunsock.so`` is."""

from __future__ import annotations

from pathlib import Path

from .errors import UnsockError

LIBRARY_NAME = "libunsock.so"


def library_path() -> Path:
    """Absolute path of the shim installed beside this package."""
    path = Path(__file__).resolve().with_name(LIBRARY_NAME)
    if not path.is_file():
        raise UnsockError(f"{LIBRARY_NAME} is missing from {path.parent}: reinstall unsock with pip")
    return path
