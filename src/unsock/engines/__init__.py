"""Engines: how a program runs under unsock. Each engine module has ``prepare(argv, env)``, which
turns the program's command and its environment (:mod:`unsock.environment`: the compiled rules
and the settings) into the command and environment that run it under that engine; then
:func:`exec_program` replaces this process by the result.

- :mod:`.preload`: ``libunsock.so`` in ``LD_PRELOAD``, for dynamically linked programs
- :mod:`.seccomp`: ``unsock-supervisor``, for statically linked and Go programs
- :mod:`.choose`: which of the two ``--engine auto`` picks for a program, and why
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import NoReturn

from ..config import Config
from ..environment import prepare_environment
from ..errors import UnsockError
from ..rules import Rule
from . import preload


def build_environment(
    base: Mapping[str, str],
    overrides: Mapping[str, str] | None = None,
    *,
    rules: Sequence[Rule] | None = None,
    verbose: bool = False,
    log_file: str | os.PathLike[str] | None = None,
) -> tuple[dict[str, str], Config | None]:
    """The environment for a program under unsock (preload engine): ``base`` with ``overrides``
    applied, the rules compiled into ``UNSOCK_RULES`` and the shim preloaded.

    The rules are ``rules``, else those of an ``UNSOCK_RULES`` in ``base``, else those the
    ``UNSOCK_*`` variables stand for, in a private default directory if ``UNSOCK_DIR`` is not
    set; the configuration of those variables is returned beside the environment (None when
    rules are given). ``verbose`` makes the shim log every decision on stderr, ``log_file``
    (a path) in that file instead.

    Raises :class:`~unsock.errors.ConfigError` for anything the shim would reject, and
    :class:`~unsock.errors.UnsockError` for ``UNSOCK_DIR``, ``UNSOCK_ADDR``, ``UNSOCK_PORT``,
    ``UNSOCK_MODE`` or ``UNSOCK_BLOCK_INET`` in ``overrides`` together with rules.
    """
    prepared = prepare_environment(base, overrides, rules=rules, verbose=verbose, log_file=log_file)
    _, env = preload.prepare((), prepared.env)
    return env, prepared.config


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
