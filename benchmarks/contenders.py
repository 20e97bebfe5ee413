"""Who is compared: each contender says how the server and the client of a
workload run (which transport the program is told to use, and how it is
launched) and whether a proxy sits between them.

A launcher is the only thing that knows about an unsock engine. The preload
engine is an environment (``LD_PRELOAD`` and ``UNSOCK_*``); another engine,
such as ``unsock run --engine seccomp``, is one more :class:`Launcher` and one
more entry in :data:`CONTENDERS`.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal, Protocol

Transport = Literal["tcp", "unix"]

HOST = "127.0.0.1"
UNSOCK_ADDR = "127.0.0.1/8"


@dataclass(frozen=True)
class Tcp:
    port: int

    def spec(self) -> str:
        return f"tcp:{HOST}:{self.port}"

    def __str__(self) -> str:
        return f"{HOST}:{self.port}"


@dataclass(frozen=True)
class Unix:
    path: Path

    def spec(self) -> str:
        return f"unix:{self.path}"

    def __str__(self) -> str:
        return str(self.path)


Address = Tcp | Unix


@dataclass(frozen=True)
class Setting:
    """What launchers need to know about this benchmark run."""

    lib: Path | None  # libunsock.so; None if unsock is not installed
    sockdir: Path  # UNSOCK_DIR, and where native unix servers listen
    unsock_cli: tuple[str, ...]  # the unsock command

    def sock_path(self, port: int) -> Path:
        return self.sockdir / f"{port}.sock"


def plain_env() -> dict[str, str]:
    """os.environ without the shim or any UNSOCK_* variable."""
    return {k: v for k, v in os.environ.items() if k != "LD_PRELOAD" and not k.startswith("UNSOCK_")}


class Launcher(Protocol):
    """How one side of a contender runs its program."""

    @property
    def name(self) -> str: ...

    @property
    def converts(self) -> bool:
        """TCP sockets on 127.x.x.x:PORT become unix sockets at SOCKDIR/PORT.sock."""
        ...

    def unavailable(self, setting: Setting) -> str | None:
        """Why this launcher cannot run here, or None."""
        ...

    def command(self, argv: list[str], setting: Setting) -> tuple[list[str], dict[str, str]]:
        """The command line and environment that run argv this way."""
        ...


@dataclass(frozen=True)
class Native:
    name: str = "native"
    converts: bool = False

    def unavailable(self, setting: Setting) -> str | None:
        return None

    def command(self, argv: list[str], setting: Setting) -> tuple[list[str], dict[str, str]]:
        return argv, plain_env()


# No program of the benchmark uses it: under it the shim converts nothing.
UNCOVERED_ADDR = "127.254.254.254/32"


@dataclass(frozen=True)
class Preload:
    """The preload engine, exactly as users run it: LD_PRELOAD=$(unsock lib). With converts
    False, its rules cover none of the programs' addresses: the cost of the unconverted path."""

    name: str = "preload"
    converts: bool = True

    def unavailable(self, setting: Setting) -> str | None:
        if setting.lib is None or not setting.lib.is_file():
            return "libunsock.so not found (run `make install`, or pass --lib)"
        return None

    def command(self, argv: list[str], setting: Setting) -> tuple[list[str], dict[str, str]]:
        env = plain_env()
        assert setting.lib is not None
        env.update(LD_PRELOAD=str(setting.lib), UNSOCK_DIR=str(setting.sockdir),
                   UNSOCK_ADDR=UNSOCK_ADDR if self.converts else UNCOVERED_ADDR)
        return argv, env


@cache
def _run_help(cli: tuple[str, ...]) -> str:
    try:
        p = subprocess.run([*cli, "run", "--help"], capture_output=True, text=True, timeout=30, check=False)
    except OSError as e:
        return f"<{e}>"
    return p.stdout + p.stderr


@dataclass(frozen=True)
class UnsockRun:
    """`unsock run --engine ENGINE -- PROGRAM`: for engines that are not an
    environment variable (seccomp). Available once `unsock run` offers it."""

    engine: str
    converts: bool = True

    @property
    def name(self) -> str:
        return f"unsock run --engine {self.engine}"

    def unavailable(self, setting: Setting) -> str | None:
        text = _run_help(setting.unsock_cli)
        if "--engine" not in text or self.engine not in text:
            return f"`unsock run` has no `--engine {self.engine}` yet"
        return None

    def command(self, argv: list[str], setting: Setting) -> tuple[list[str], dict[str, str]]:
        # The seccomp engine is for what LD_PRELOAD cannot reach: the benchmark's own programs run
        # linked statically under it (dynamic ones would carry the preload shim as well).
        static = Path(f"{argv[0]}-static")
        if self.engine == "seccomp" and static.exists():
            argv = [str(static), *argv[1:]]
        cli = [*setting.unsock_cli, "run", "--engine", self.engine, "--dir", str(setting.sockdir)]
        return [*cli, "--addr", UNSOCK_ADDR, "--", *argv], plain_env()


NATIVE = Native()
PRELOAD = Preload()
PRELOAD_UNCOVERED = Preload("preload, nothing covered", converts=False)


@dataclass(frozen=True)
class Side:
    transport: Transport  # what the program is told to use
    launcher: Launcher


@dataclass(frozen=True)
class SocatProxy:
    """socat accepting TCP and forwarding each connection to a unix socket."""

    nodelay: bool

    @property
    def program(self) -> str:
        return "socat"

    def argv(self, listen: Tcp, target: Unix) -> list[str]:
        opts = f"TCP-LISTEN:{listen.port},fork,reuseaddr,bind={HOST}" + (",nodelay" if self.nodelay else "")
        return ["socat", opts, f"UNIX-CONNECT:{target.path}"]

    def describe(self) -> str:
        opts = "TCP-LISTEN:PORT,fork,reuseaddr,bind=" + HOST + (",nodelay" if self.nodelay else "")
        return f"socat {opts} UNIX-CONNECT:DIR/PORT.sock"


@dataclass(frozen=True)
class Contender:
    name: str
    title: str
    server: Side
    client: Side
    proxy: SocatProxy | None = None

    def unavailable(self, setting: Setting) -> str | None:
        for side in (self.server, self.client):
            reason = side.launcher.unavailable(setting)
            if reason:
                return reason
        return None


CONTENDERS: tuple[Contender, ...] = (
    Contender("tcp", "plain TCP loopback", Side("tcp", NATIVE), Side("tcp", NATIVE)),
    Contender("unix", "native AF_UNIX on both ends", Side("unix", NATIVE), Side("unix", NATIVE)),
    Contender("unsock", "unsock (preload) on both ends", Side("tcp", PRELOAD), Side("tcp", PRELOAD)),
    Contender(
        "unsock-client", "unsock (preload) client, native unix server", Side("unix", NATIVE), Side("tcp", PRELOAD)
    ),
    Contender(
        "unsock-uncovered", "unsock (preload) on both ends, no rule covering their address (TCP)",
        Side("tcp", PRELOAD_UNCOVERED), Side("tcp", PRELOAD_UNCOVERED),
    ),
    Contender(
        "socat", "TCP client, socat proxy, native unix server", Side("unix", NATIVE), Side("tcp", NATIVE),
        SocatProxy(nodelay=False),
    ),
    Contender(
        "socat-nodelay", "as socat, with nodelay", Side("unix", NATIVE), Side("tcp", NATIVE), SocatProxy(nodelay=True)
    ),
    Contender(
        "unsock-seccomp", "unsock --engine seccomp on both ends",
        Side("tcp", UnsockRun("seccomp")), Side("tcp", UnsockRun("seccomp")),
    ),
)

BASELINES = ("unix", "tcp")
