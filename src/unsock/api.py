"""unsock from Python: rules built in code or parsed from the CLI's syntax, the environment or
command that runs a program under an engine, ``subprocess``-like :func:`run` and :class:`Popen`,
and a way to reach a converted service without the shim (:func:`socket_path`, :func:`connect`,
:class:`HTTPConnection`). A server under unsock that is ready when its ``with`` block starts:
:func:`unsock.server.serve`.

The command line ``unsock run -r RULE -- PROGRAM`` is ``unsock.run([PROGRAM], rules=[RULE])``;
both go through :func:`command`. Rules are text in the CLI's syntax or :class:`~unsock.Rule`
objects (``Rule(direction="in", port=(8080, 8080), action=PathAction("/run/app.sock"))``).
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from .engines import preload, seccomp
from .engines.choose import Choice, choose
from .environment import Environment, prepare_environment
from .errors import ConfigError, UnsockError
from .rules import AbstractAction, PathAction, Rule, expand, match, parse_compiled, parse_rule

Engine = Literal["auto", "preload", "seccomp"]
RuleLike = Rule | str
SockTypeName = Literal["stream", "dgram"]

#: The address a port stands for when none is given: what ``unsock run --addr 127.0.0.1`` covers.
LOOPBACK = "127.0.0.1"


def rule_list(*texts: str, cwd: str | None = None) -> list[Rule]:
    """Rules in the CLI's syntax (``unsock run -r``, docs/rules.md), one per argument. Relative
    paths are taken from ``cwd`` (default: the current directory). Raises
    :class:`~unsock.rules.RuleError` with the position of the first mistake."""
    return [parse_rule(t, cwd=cwd) for t in texts]


def _rules(given: Iterable[RuleLike] | None) -> list[Rule] | None:
    """Rules parsed from text, and rules made in code checked as the shim would read them."""
    if given is None:
        return None
    return [parse_compiled(r.canonical())[0] if isinstance(r, Rule) else parse_rule(r) for r in given]


def _overrides(dir: str | os.PathLike[str] | None, addr: str | Sequence[str] | None, port: int | None,
               mode: int | None, settings: Mapping[str, str | bool] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    if dir is not None:
        out["UNSOCK_DIR"] = os.path.abspath(dir)
    if addr is not None:
        out["UNSOCK_ADDR"] = addr if isinstance(addr, str) else ",".join(addr)
    if port is not None:
        out["UNSOCK_PORT"] = str(port)
    if mode is not None:
        out["UNSOCK_MODE"] = f"{mode:04o}"
    for name, value in (settings or {}).items():
        var = name if name.startswith("UNSOCK_") else f"UNSOCK_{name.upper()}"
        out[var] = ("1" if value else "0") if isinstance(value, bool) else value
    return out


def _prepared(rules: Iterable[RuleLike] | None, dir: str | os.PathLike[str] | None, addr: str | Sequence[str] | None,
              port: int | None, mode: int | None, settings: Mapping[str, str | bool] | None,
              base: Mapping[str, str] | None, verbose: bool = False,
              log_file: str | os.PathLike[str] | None = None) -> Environment:
    """The rules or settings compiled into an environment (from ``os.environ`` by default)."""
    return prepare_environment(dict(os.environ if base is None else base), _overrides(dir, addr, port, mode, settings),
                               rules=_rules(rules), verbose=verbose, log_file=log_file)


def environment(
    rules: Iterable[RuleLike] | None = None,
    *,
    dir: str | os.PathLike[str] | None = None,
    addr: str | Sequence[str] | None = None,
    port: int | None = None,
    mode: int | None = None,
    engine: Literal["auto", "preload"] = "auto",
    settings: Mapping[str, str | bool] | None = None,
    base: Mapping[str, str] | None = None,
    verbose: bool = False,
    log_file: str | os.PathLike[str] | None = None,
) -> dict[str, str]:
    """The environment in which a dynamically linked program (and what it starts) runs under
    unsock: pass it as ``env=`` to :mod:`subprocess`. ``rules`` (:class:`Rule` or CLI syntax), or
    else the original's settings: ``dir`` (``UNSOCK_DIR``, default a private per-user one),
    ``addr`` (``UNSOCK_ADDR``), ``port``, ``mode``; ``settings`` for the switches
    (``{"peer_loopback": True}`` or ``{"UNSOCK_PEER_LOOPBACK": "1"}``). ``engine="auto"`` also lets
    the shim hand statically linked and Go programs it starts to the seccomp engine. A program
    that is itself static needs the supervisor to start it: use :func:`command`, :func:`run` or
    :class:`Popen`. ``base`` defaults to ``os.environ``.

    Raises :class:`~unsock.errors.ConfigError` for what the engines would reject."""
    if engine not in ("auto", "preload"):
        raise UnsockError(f"engine {engine!r} starts the program itself: use unsock.command(), run() or Popen()")
    prepared = _prepared(rules, dir, addr, port, mode, settings, base, verbose, log_file)
    _, env = preload.prepare((), prepared.env)
    return seccomp.hand_over(env) if engine == "auto" else env


def engine_for(program: str, engine: Engine, env: Mapping[str, str]) -> Choice:
    """The engine that runs program, and why."""
    if engine == "auto":
        return choose(program, env)
    if engine in ("preload", "seccomp"):
        return Choice(engine, "asked for")
    raise UnsockError(f"{engine!r} is not an engine: use auto, preload or seccomp")


def command(
    argv: Sequence[str],
    rules: Iterable[RuleLike] | None = None,
    *,
    engine: Engine = "auto",
    dir: str | os.PathLike[str] | None = None,
    addr: str | Sequence[str] | None = None,
    port: int | None = None,
    mode: int | None = None,
    settings: Mapping[str, str | bool] | None = None,
    base: Mapping[str, str] | None = None,
    verbose: bool = False,
    log_file: str | os.PathLike[str] | None = None,
) -> tuple[list[str], dict[str, str]]:
    """The command and environment that run ``argv`` under unsock, as ``unsock run`` would:
    the engine ``auto`` picks for the program (the preload engine for dynamically linked
    programs, the seccomp engine for static and Go ones), or the one asked for. Arguments as
    for :func:`environment`."""
    if not argv:
        raise UnsockError("no program given")
    prepared = _prepared(rules, dir, addr, port, mode, settings, base, verbose, log_file)
    cmd, env, _ = under_engine(argv, prepared.env, engine)
    return cmd, env


def under_engine(argv: Sequence[str], env: Mapping[str, str],
                 engine: Engine) -> tuple[list[str], dict[str, str], Choice]:
    """The command and environment that run ``argv`` under the engine (``env`` has the rules
    compiled), and which engine that is and why. Under ``auto``, what the program starts may
    need the other engine: the shim hands static and Go programs to the supervisor."""
    choice = engine_for(argv[0], engine, env)
    cmd, out = (seccomp if choice.engine == "seccomp" else preload).prepare(argv, env)
    return cmd, seccomp.hand_over(out) if engine == "auto" else out, choice


_OPTIONS = ("rules", "engine", "dir", "addr", "port", "mode", "settings", "verbose", "log_file")


def _split(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The unsock options among kwargs, removed from it; ``env`` becomes the base environment."""
    ours = {k: kwargs.pop(k) for k in _OPTIONS if k in kwargs}
    ours["base"] = kwargs.pop("env", None)
    return ours


def run(argv: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[Any]:
    """:func:`subprocess.run` of ``argv`` under unsock. The unsock options of :func:`command`
    (``rules``, ``engine``, ``dir``, ...) are taken out; ``env`` is the environment to start
    from; everything else goes to :func:`subprocess.run`."""
    cmd, env = command(argv, **_split(kwargs))
    return subprocess.run(cmd, env=env, **kwargs)


class Popen(subprocess.Popen[Any]):
    """:class:`subprocess.Popen` of ``argv`` under unsock, with the options of :func:`run`."""

    def __init__(self, argv: Sequence[str], **kwargs: Any) -> None:
        cmd, env = command(argv, **_split(kwargs))
        super().__init__(cmd, env=env, **kwargs)


def socket_path(
    port: int,
    rules: Iterable[RuleLike] | None = None,
    *,
    dir: str | os.PathLike[str] | None = None,
    addr: str = LOOPBACK,
    sock_type: SockTypeName = "stream",
    base: Mapping[str, str] | None = None,
) -> str:
    """Where a server under these rules (or ``dir``, default a private per-user one, as for
    :func:`environment`) listens when it binds ``addr:port``: a socket file's path, or an
    abstract name starting with ``"\\0"``. :class:`~unsock.errors.UnsockError` if the rules do
    not put that socket on a unix socket."""
    given = _rules(rules)
    if given is None:
        given = list(_prepared(None, dir, f"{addr}/{128 if ':' in addr else 32}", None, None, None, base).rules)
    i = match(given, "in", sock_type, (addr, port))
    action = given[i].action if i is not None else None
    if isinstance(action, PathAction):
        return expand(given[i], sock_type, addr, port)  # type: ignore[index]
    if isinstance(action, AbstractAction):
        return "\0" + expand(given[i], sock_type, addr, port)  # type: ignore[index]
    raise UnsockError(f"{addr}:{port} ({sock_type}) is not put on a unix socket by these rules: "
                      "check the rules' addresses and ports")


def _path_of(where: int | str | os.PathLike[str], rules: Iterable[RuleLike] | None,
             dir: str | os.PathLike[str] | None) -> str:
    return socket_path(where, rules, dir=dir) if isinstance(where, int) else os.fspath(where)


def connect(where: int | str | os.PathLike[str], rules: Iterable[RuleLike] | None = None, *,
            dir: str | os.PathLike[str] | None = None, timeout: float | None = None) -> socket.socket:
    """A unix stream socket connected to a converted service: ``where`` is the port it serves
    (found with :func:`socket_path`) or the socket's path."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.settimeout(timeout)
        s.connect(_path_of(where, rules, dir))
    except BaseException:
        s.close()
        raise
    return s


class HTTPConnection(http.client.HTTPConnection):
    """:class:`http.client.HTTPConnection` to a converted HTTP service, over its unix socket
    (``where`` as for :func:`connect`); the Host header says ``host``."""

    def __init__(self, where: int | str | os.PathLike[str], rules: Iterable[RuleLike] | None = None, *,
                 dir: str | os.PathLike[str] | None = None, host: str = "localhost",
                 timeout: float | None = None) -> None:
        super().__init__(host, timeout=timeout)
        self.unix_path = _path_of(where, rules, dir)

    def connect(self) -> None:
        self.sock = connect(self.unix_path, timeout=self.timeout)


__all__ = ["LOOPBACK", "ConfigError", "HTTPConnection", "Popen", "command", "connect", "engine_for", "environment",
           "rule_list", "run", "socket_path"]
