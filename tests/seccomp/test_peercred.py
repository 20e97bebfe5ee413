"""SO_PEERCRED of a connection whose connect the supervisor made: the kernel names the
supervisor, unsock names the client. The supervisor writes the client's pid into the unix name
of the socket it connects with, and a server under unsock (either engine) reports that pid when
the kernel's peer is unsock's supervisor, its very file (a native server sees the supervisor's
pid: README, "Two engines"). The uid is the kernel's."""

from __future__ import annotations

import os
import socket
import struct
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers.output import unsock_cli
from tests.seccomp.conftest import COVERED, Program, Supervised

pytestmark = pytest.mark.program("musl-gcc")

Build = Callable[[str], Path]

PYTHON_SERVER = r"""
import socket, struct, sys
s = socket.socket()
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(8)
print("listening", flush=True)
for _ in range(2):
    c, _ = s.accept()
    pid, uid, _ = struct.unpack("3i", c.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
    print(f"peer pid {pid} uid {uid}", flush=True)
    c.close()
"""


def clients(seccomp: Supervised, prog: Path, port: int) -> list[Program]:
    """Two clients under the supervisor, each with the pid it printed checked in."""
    return [seccomp.start(prog, "connect", COVERED, str(port)) for _ in range(2)]


def expect_pids(server: Program, started: list[Program]) -> None:
    pids = sorted(int(c.line().split()[1]) for c in started)
    seen = sorted(int(server.line().split()[2]) for _ in started)
    assert seen == pids, f"the server saw {seen}, the clients are {pids}"
    for c in started:
        c.stop()


def test_a_server_under_the_seccomp_engine_sees_its_clients(seccomp: Supervised, static_prog: Build) -> None:
    prog = static_prog("peercred")
    server = seccomp.start(prog, "serve", COVERED, "7951")
    assert server.line() == "listening"
    expect_pids(server, clients(seccomp, prog, 7951))
    assert f"uid {os.getuid()}" in server.out.decode()


def test_a_server_under_the_preload_engine_sees_them_too(seccomp: Supervised, static_prog: Build) -> None:
    prog = static_prog("peercred")
    args = [*unsock_cli(), "run", "--engine", "preload", "--dir", str(seccomp.dir), "--addr", f"{COVERED}/32", "--",
            sys.executable, "-c", PYTHON_SERVER, COVERED, "7952"]
    server = Program(args)
    try:
        assert server.line() == "listening"
        expect_pids(server, clients(seccomp, prog, 7952))
    finally:
        server.stop()


def test_a_native_unix_server_sees_the_supervisor(seccomp: Supervised, static_prog: Build) -> None:
    """What the kernel says, unchanged, outside unsock: the process that connected."""
    path = seccomp.dir / "7953.sock"
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(path))
        listener.listen(1)
        client = seccomp.start(static_prog("peercred"), "connect", COVERED, "7953")
        listener.settimeout(10)
        conn, _ = listener.accept()
        with conn:
            pid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[0]
            own = int(client.line().split()[1])
            assert pid != own
            assert Path(f"/proc/{pid}/exe").resolve().name == "unsock-supervisor"
        client.stop()
