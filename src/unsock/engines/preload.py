"""The preload engine: ``libunsock.so`` in ``LD_PRELOAD`` applies the rules inside the program's
own libc calls. For dynamically linked programs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..library import library_path
from .choose import program_libc


def preload_value(current: str | None, libc: str | None = None) -> str:
    """LD_PRELOAD with the shim (the build for libc, default the system's) first and anything
    already there kept."""
    lib = str(library_path(libc))
    others = [p for p in (current or "").replace(":", " ").split() if p and p != lib]
    return " ".join([lib, *others])


def prepare(argv: Sequence[str], env: Mapping[str, str]) -> tuple[list[str], dict[str, str]]:
    """The command and environment that run ``argv`` under the preload engine: the same command,
    with the shim built for its C library preloaded."""
    prepared = dict(env)
    libc = program_libc(argv[0], env) if argv else None
    prepared["LD_PRELOAD"] = preload_value(env.get("LD_PRELOAD"), libc)
    return list(argv), prepared
