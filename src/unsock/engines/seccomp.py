"""The seccomp engine: ``unsock-supervisor`` runs the program and answers its socket system calls
through seccomp user notification, for programs that bypass libc (statically linked ones, Go).
Dynamically linked programs in the tree keep the preload shim too; the two never convert a
socket twice (the supervisor leaves alone what the shim has made a unix socket)."""

from __future__ import annotations

import functools
import subprocess
from collections.abc import Mapping, Sequence

from ..errors import UnsockError
from ..library import supervisor_path
from . import preload


@functools.cache
def unavailable() -> str | None:
    """Why the seccomp engine cannot run on this kernel or in this container (one line), or None."""
    try:
        p = subprocess.run([str(supervisor_path()), "--check"], capture_output=True, text=True, timeout=30,
                           check=False)
    except OSError as e:
        return f"the supervisor cannot be started: {e.strerror}"
    if p.returncode == 0:
        return None
    lines = [ln.removeprefix("unsock: ") for ln in p.stderr.splitlines() if ln.strip()]
    return lines[-1] if lines else f"the supervisor's check failed with status {p.returncode}"


def prepare(argv: Sequence[str], env: Mapping[str, str]) -> tuple[list[str], dict[str, str]]:
    """The command and environment that run ``argv`` under the seccomp engine: the supervisor
    with the program after ``--``, and the shim preloaded for the dynamically linked programs of
    the tree. UnsockError when this kernel cannot run it."""
    why = unavailable()
    if why is not None:
        raise UnsockError(why)
    try:
        command, prepared = preload.prepare(argv, env)
    except UnsockError:  # no shim for the program's C library: the supervisor alone serves it
        command, prepared = list(argv), dict(env)
    # The supervisor runs without the shim and gives it to the program.
    shim = prepared.pop("LD_PRELOAD", None)
    if shim is not None:
        prepared["UNSOCK_SUPERVISOR_PRELOAD"] = shim
    return [str(supervisor_path()), "--", *command], prepared


def hand_over(env: Mapping[str, str]) -> dict[str, str]:
    """env with UNSOCK_SUPERVISOR set: under ``--engine auto`` the shim of a dynamically linked
    program hands a statically linked or Go program it starts to the supervisor."""
    return {**env, "UNSOCK_SUPERVISOR": str(supervisor_path())}
