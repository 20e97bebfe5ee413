"""The preload engine: ``libunsock.so`` in ``LD_PRELOAD`` applies the rules inside the program's
own libc calls. For dynamically linked programs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..library import library_path


def preload_value(current: str | None) -> str:
    """LD_PRELOAD with the shim first and anything already there kept."""
    lib = str(library_path())
    others = [p for p in (current or "").replace(":", " ").split() if p and p != lib]
    return " ".join([lib, *others])


def prepare(argv: Sequence[str], env: Mapping[str, str]) -> tuple[list[str], dict[str, str]]:
    """The command and environment that run ``argv`` under the preload engine: the same command,
    with the shim preloaded."""
    prepared = dict(env)
    prepared["LD_PRELOAD"] = preload_value(env.get("LD_PRELOAD"))
    return list(argv), prepared
