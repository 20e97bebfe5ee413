"""The environment every engine hands a program: the rule list, compiled into ``UNSOCK_RULES``
whether it was given as rules or as the original's ``UNSOCK_*`` variables, and the settings that
are not rules (``UNSOCK_BLOCK_INET6``, ``UNSOCK_ACCEPT_CONVERT_*``, ``UNSOCK_PEER_LOOPBACK``,
``UNSOCK_DEBUG``, ``UNSOCK_LOG_FILE``).

The ``UNSOCK_*`` variables stay in the environment for the program's children and for tools
that read them; with ``UNSOCK_RULES`` set the engines take where sockets go from the rules alone.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .config import BOOL_VARS, Config, parse_switch
from .errors import ConfigError, UnsockError
from .rules import Rule, compile_rules, parse_compiled, rules_from_config

#: The variables that say where sockets go, which rules replace.
REPLACED_BY_RULES = ("UNSOCK_DIR", "UNSOCK_ADDR", "UNSOCK_PORT", "UNSOCK_MODE", "UNSOCK_BLOCK_INET")


@dataclass(frozen=True)
class Environment:
    """A program's environment under unsock, the rules compiled into its ``UNSOCK_RULES``, and the
    ``UNSOCK_*`` configuration they stand for (None when rules were given)."""

    env: dict[str, str]
    rules: tuple[Rule, ...]
    config: Config | None


def default_dir_path(env: Mapping[str, str], uid: int | None = None) -> str:
    """Where the private socket directory of user uid (default: this one) is, not created:
    ``$XDG_RUNTIME_DIR/unsock``, else ``/tmp/unsock-UID`` (for another user, whose
    ``XDG_RUNTIME_DIR`` is not known, always the latter)."""
    runtime = env.get("XDG_RUNTIME_DIR")
    if runtime and runtime.startswith("/") and uid in (None, os.getuid()):
        return os.path.join(runtime, "unsock")
    return os.path.join(tempfile.gettempdir(), f"unsock-{os.getuid() if uid is None else uid}")


def default_dir(env: Mapping[str, str]) -> str:
    """A private per-user socket directory, created 0700 if missing."""
    path = default_dir_path(env)
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


def inherited_rules(env: Mapping[str, str]) -> list[Rule] | None:
    """The rules of an ``UNSOCK_RULES`` in ``env``, or None if there is none. An ``UNSOCK_RULES``
    that says exactly what the ``UNSOCK_*`` variables beside it say is theirs (unsock writes it
    for them, and a program started under unsock inherits it): None too, so that the variables
    can still be changed."""
    text = env.get("UNSOCK_RULES")
    if not text:
        return None
    try:
        if text == compile_rules(rules_from_config(Config.from_env(env))):
            return None
    except ConfigError:
        pass
    return parse_compiled(text)


def prepare_environment(
    base: Mapping[str, str],
    overrides: Mapping[str, str] | None = None,
    *,
    rules: Sequence[Rule] | None = None,
    verbose: bool = False,
    log_file: str | os.PathLike[str] | None = None,
) -> Environment:
    """``base`` with ``overrides`` applied and the rules compiled into ``UNSOCK_RULES``: ``rules``,
    else those of an inherited ``UNSOCK_RULES``, else those of the ``UNSOCK_*`` variables (in a
    private default directory if ``UNSOCK_DIR`` is not set). ``verbose`` logs every decision on
    stderr, ``log_file`` in that file instead.

    Raises :class:`~unsock.errors.ConfigError` for anything the engines would reject, and
    :class:`~unsock.errors.UnsockError` for variables that rules replace given with rules.
    """
    overrides = overrides or {}
    if rules is not None and not rules:
        raise ConfigError("no rules given: give at least one, or None for the UNSOCK_* variables")
    given = list(rules) if rules is not None else inherited_rules(base)
    if given is not None:
        for name in REPLACED_BY_RULES:
            if name in overrides:
                raise UnsockError(f"{name} cannot be used with rules: say where sockets go in the rules instead")
    env = dict(base)
    env.update(overrides)
    if verbose or log_file is not None:
        env["UNSOCK_DEBUG"] = "1"
    if log_file is not None:
        env["UNSOCK_LOG_FILE"] = os.path.abspath(log_file)
    config: Config | None = None
    if given is None:
        if not env.get("UNSOCK_DIR"):
            env["UNSOCK_DIR"] = default_dir(env)
        config = Config.from_env(env)
        given = rules_from_config(config)
    else:
        for name, _ in BOOL_VARS:  # the switches that apply with rules too
            if name != "UNSOCK_BLOCK_INET":
                parse_switch(name, env.get(name))
    env["UNSOCK_RULES"] = compile_rules(given)
    return Environment(env, tuple(given), config)
