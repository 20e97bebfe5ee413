"""A server under unsock for as long as a ``with`` block lasts: started with :class:`unsock.Popen`,
ready when its socket accepts connections, stopped at the end.

    with unsock.serve(["python3", "-m", "http.server", "--bind", "127.0.0.1", "8080"], 8080) as srv:
        conn = srv.http()
        conn.request("GET", "/")
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any

from .api import LOOPBACK, HTTPConnection, Popen, RuleLike, SockTypeName, connect, socket_path
from .errors import UnsockError


@dataclass
class Server:
    """A running server: its process, the port it was told and the unix socket that serves it."""

    process: Popen
    port: int
    path: str
    _output: IO[bytes]

    def connect(self, timeout: float | None = None) -> socket.socket:
        return connect(self.path, timeout=timeout)

    def http(self, host: str = "localhost", timeout: float | None = None) -> HTTPConnection:
        return HTTPConnection(self.path, host=host, timeout=timeout)

    def output(self) -> str:
        """What the server wrote so far (stdout and stderr)."""
        self._output.seek(0)
        return self._output.read().decode(errors="replace")


def _accepts(path: str, sock_type: SockTypeName) -> bool:
    kind = socket.SOCK_STREAM if sock_type == "stream" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_UNIX, kind) as s:
        try:
            s.connect(path)
        except OSError:
            return False
    return True


def _stop(p: Popen, grace: float) -> None:
    if p.poll() is not None:
        return
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(grace)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


@contextlib.contextmanager
def serve(
    argv: Sequence[str],
    port: int,
    rules: Iterable[RuleLike] | None = None,
    *,
    addr: str = LOOPBACK,
    sock_type: SockTypeName = "stream",
    timeout: float = 10.0,
    grace: float = 5.0,
    **kwargs: Any,
) -> Iterator[Server]:
    """Start ``argv`` under unsock (options of :func:`unsock.run`: ``rules``, ``dir``, ``engine``,
    ``env``, ...), and yield once its socket for ``addr:port`` accepts connections. Without rules
    or ``addr``, ``UNSOCK_ADDR`` is ``addr`` (the server must bind that address). Raises
    :class:`~unsock.errors.UnsockError`, with the server's output, if it exits first or is not
    ready within ``timeout`` seconds. At the end it gets SIGTERM, and SIGKILL after ``grace``
    seconds."""
    given = list(rules) if rules is not None else None
    if given is None:
        kwargs.setdefault("addr", f"{addr}/{128 if ':' in addr else 32}")
    path = socket_path(port, given, dir=kwargs.get("dir"), addr=addr, sock_type=sock_type, base=kwargs.get("env"))
    with tempfile.TemporaryFile() as out:
        p = Popen(argv, rules=given, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, **kwargs)
        server = Server(p, port, path, out)
        try:
            deadline = time.monotonic() + timeout
            while not _accepts(path, sock_type):
                if p.poll() is not None:
                    raise UnsockError(f"{argv[0]} exited with status {p.returncode} before it served "
                                      f"{_shown(path)}: its output:\n{server.output()}")
                if time.monotonic() > deadline:
                    raise UnsockError(f"{argv[0]} did not serve {_shown(path)} within {timeout:g} s: "
                                      f"its output:\n{server.output()}")
                time.sleep(0.02)
            yield server
        finally:
            _stop(p, grace)


def _shown(path: str) -> str:
    return "@" + path[1:] if path.startswith("\0") else os.fspath(path)
