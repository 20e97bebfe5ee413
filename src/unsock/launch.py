"""Preparing the environment of a program run under the preload engine, and running it."""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from collections.abc import Mapping, Sequence
from typing import NoReturn

from .config import Config
from .errors import UnsockError
from .library import library_path


def default_dir(env: Mapping[str, str]) -> str:
    """A private per-user socket directory, created 0700 if missing."""
    runtime = env.get("XDG_RUNTIME_DIR")
    if runtime and runtime.startswith("/"):
        path = os.path.join(runtime, "unsock")
    else:
        path = os.path.join(tempfile.gettempdir(), f"unsock-{os.getuid()}")
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError as e:
        raise UnsockError(f"cannot create the socket directory {path}: {e.strerror}: pass --dir") from None
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise UnsockError(
            f"{path} is not a private directory of yours (owner and mode 0700 expected): "
            "remove it or pass --dir"
        )
    return path


def preload_value(current: str | None) -> str:
    """LD_PRELOAD with the shim first and anything already there kept."""
    lib = str(library_path())
    others = [p for p in (current or "").replace(":", " ").split() if p and p != lib]
    return " ".join([lib, *others])


def build_environment(
    base: Mapping[str, str], overrides: Mapping[str, str], *, verbose: bool = False
) -> tuple[dict[str, str], Config]:
    """The environment for a program under unsock: ``base`` with ``overrides``
    applied, a default directory if none is given, and the shim preloaded.

    Raises :class:`~unsock.errors.ConfigError` for anything the shim would reject.
    """
    env = dict(base)
    env.update(overrides)
    if verbose:
        env["UNSOCK_DEBUG"] = "1"
    if not env.get("UNSOCK_DIR"):
        env["UNSOCK_DIR"] = default_dir(env)
    config = Config.from_env(env)
    env["LD_PRELOAD"] = preload_value(env.get("LD_PRELOAD"))
    return env, config


def exec_program(argv: Sequence[str], env: Mapping[str, str]) -> NoReturn:
    """Replace this process by the program, so that its exit status and
    signals reach the caller unchanged."""
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvpe(argv[0], list(argv), dict(env))
    except FileNotFoundError:
        raise UnsockError(f"cannot run '{argv[0]}': no such program: check the name or give its path") from None
    except PermissionError:
        raise UnsockError(f"cannot run '{argv[0]}': permission denied: check that it is executable") from None
    except OSError as e:
        raise UnsockError(f"cannot run '{argv[0]}': {e.strerror}") from None
