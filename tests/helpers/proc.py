"""Running real programs under the shim, and waiting for what they do."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from unsock import library_path
from unsock.engines.choose import program_libc

DEFAULT_ADDR = "127.0.0.1/8"


def for_program(program: str, env: Mapping[str, str]) -> dict[str, str]:
    """env for running program under the shim: a musl program gets the musl build in place of the
    system's (as `unsock run` and the shim at exec choose by the program's interpreter)."""
    env = dict(env)
    if env.get("LD_PRELOAD") and program_libc(program, env) == "musl":
        env["LD_PRELOAD"] = str(library_path("musl"))
    return env


def wait_for(predicate: object, timeout: float = 10.0, what: str = "condition") -> None:
    """Poll predicate() until true; fail the test after timeout seconds."""
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def wait_for_path(path: Path, timeout: float = 10.0) -> None:
    wait_for(path.exists, timeout, f"{path} to appear")


class Unsock:
    """Environment and process helpers for one socket directory."""

    def __init__(self, sockdir: Path, addr: str = DEFAULT_ADDR) -> None:
        self.dir = sockdir
        self.addr = addr
        self.procs: list[subprocess.Popen[bytes]] = []

    def env(self, extra: Mapping[str, str] | None = None, **unsock_vars: str) -> dict[str, str]:
        """os.environ plus LD_PRELOAD and UNSOCK_DIR/UNSOCK_ADDR, then the given variables."""
        env = dict(os.environ)
        env.update({"LD_PRELOAD": str(library_path()), "UNSOCK_DIR": str(self.dir), "UNSOCK_ADDR": self.addr})
        env.update(unsock_vars)
        if extra:
            env.update(extra)
        return env

    def path(self, port: int, *, datagram: bool = False) -> Path:
        """DIR/PORT.sock for stream sockets, DIR/PORT.udp for datagram ones."""
        return self.dir / f"{port}.{'udp' if datagram else 'sock'}"

    def run(
        self, args: Sequence[str], *, env: Mapping[str, str] | None = None, timeout: float = 60, check: bool = True,
        input: bytes | None = None,
    ) -> subprocess.CompletedProcess[bytes]:
        """Run a program under the shim to completion."""
        p = subprocess.run(
            list(args), env=for_program(args[0], env or self.env()), capture_output=True, timeout=timeout,
            input=input, check=False,
        )
        if check and p.returncode != 0:
            raise AssertionError(
                f"{args!r} exited {p.returncode}\nstdout: {p.stdout.decode(errors='replace')}\n"
                f"stderr: {p.stderr.decode(errors='replace')}"
            )
        return p

    def start(
        self, args: Sequence[str], *, env: Mapping[str, str] | None = None, wait_port: int | None = None,
        stdin: int | None = subprocess.DEVNULL, timeout: float = 15,
    ) -> subprocess.Popen[bytes]:
        """Start a program under the shim in the background (stopped at teardown);
        with wait_port, return once DIR/PORT.sock exists."""
        p = subprocess.Popen(
            list(args), env=for_program(args[0], env or self.env()), stdin=stdin, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, start_new_session=True,
        )
        self.procs.append(p)
        if wait_port is not None:
            path = self.path(wait_port)

            def ready() -> bool:
                if p.poll() is not None:
                    _, err = p.communicate()
                    raise AssertionError(
                        f"{args!r} exited {p.returncode} before listening: {err.decode(errors='replace')}"
                    )
                return path.exists()

            wait_for(ready, timeout, f"{path}")
        return p

    def stop_all(self) -> None:
        for p in self.procs:
            stop(p)
        self.procs.clear()


def stop(p: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 10) -> int:
    """Signal a process group and reap it; SIGKILL if it does not end."""
    if p.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, sig)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    if p.stdout:
        p.stdout.close()
    if p.stderr:
        p.stderr.close()
    return p.returncode


def native_unix_server(
    path: Path, reply: bytes | Callable[[bytes], bytes], backlog: int = 4
) -> tuple[socket.socket, threading.Thread, list[bytes]]:
    """A plain AF_UNIX server at path that reads one connection to EOF and answers
    with reply (or reply(what it read)); returns the socket, its thread and what it read."""
    received: list[bytes] = []
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(str(path))
    srv.listen(backlog)
    srv.settimeout(20)

    def serve() -> None:
        conn, _ = srv.accept()
        with conn:
            conn.settimeout(20)
            data = b""
            while chunk := conn.recv(65536):
                data += chunk
            received.append(data)
            conn.sendall(reply(data) if callable(reply) else reply)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return srv, t, received
