"""Listeners that share a converted port (issue 17, items 2 and 3): a dual-stack server's
second listener (::1 beside 127.0.0.1) and sockets bound with SO_REUSEPORT in one process
share the one listener at the rule's path; a second process binding with SO_REUSEPORT takes
over new connections from a live server (a zero-downtime restart) without one connection
being refused, and the first one's exit leaves the file alone. Without SO_REUSEPORT, the
same address twice is EADDRINUSE, as on TCP, and a file that is not a socket is never
replaced."""

from __future__ import annotations

import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.proc import stop
from tests.helpers.rules import PYTHON, Runner, ok, run, running, wait_socket

pytestmark = [pytest.mark.program("python3"), pytest.mark.both_engines]

DUAL_STACK = """
import socket, sys
port = int(sys.argv[1])
a = socket.socket()
a.bind(("127.0.0.1", port))
a.listen()
b = socket.socket(socket.AF_INET6)
b.bind(("::1", port))
b.listen()
print("names", a.getsockname()[:2], b.getsockname()[:2], flush=True)
for s in (a, b):
    c, peer = s.accept()
    c.sendall(b"from %s" % s.getsockname()[0].encode())
    c.close()
"""

SAME_ADDRESS_TWICE = """
import errno, socket, sys
a = socket.socket()
a.bind(("127.0.0.1", int(sys.argv[1])))
a.listen()
b = socket.socket()
try:
    b.bind(("127.0.0.1", int(sys.argv[1])))
    print("bound")
except OSError as e:
    print(errno.errorcode[e.errno])
"""

REUSEPORT_SERVER = """
import socket, sys
port, name = int(sys.argv[1]), sys.argv[2].encode()
socks = []
for _ in range(int(sys.argv[3])):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind(("127.0.0.1", port))
    s.listen(64)
    socks.append(s)
print("listening", len(socks), flush=True)
while True:
    c, _ = socks[-1].accept()
    try:
        c.sendall(name)
    except OSError:  # a client that only checked that something listens
        pass
    c.close()
"""


@pytest.fixture
def runner() -> Iterator[Runner]:
    with running() as r:
        yield r


def ask(path: Path) -> bytes:
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(str(path))
        return s.recv(100)


def test_dual_stack_server_serves_both_families_on_one_rule(tmp_path: Path, runner: Runner) -> None:
    port = 8080
    server = runner.start([f"in,path={tmp_path}/%p.sock"], [PYTHON, "-u", "-c", DUAL_STACK, str(port)])
    assert server.out.wait_for(r"names \('127\.0\.0\.1', 8080\) \('::1', 8080\)\n", 15)
    path = tmp_path / f"{port}.sock"
    assert ask(path) == b"from 127.0.0.1"
    assert ask(path) == b"from ::1"
    assert server.proc.wait(10) == 0
    assert not path.exists(), "the file outlived the server"


def test_same_address_twice_is_in_use_as_on_tcp(tmp_path: Path) -> None:
    out = ok(run([f"in,path={tmp_path}/%p.sock"], [PYTHON, "-c", SAME_ADDRESS_TWICE, "8081"]))
    assert out == b"EADDRINUSE\n"
    plain = ok(run([], [PYTHON, "-c", SAME_ADDRESS_TWICE, "18081"], options=["--addr", "192.0.2.1"]))
    assert plain == out, "TCP itself says the same"


def test_reuseport_sockets_of_one_process_share_the_listener(tmp_path: Path, runner: Runner) -> None:
    server = runner.start([f"in,path={tmp_path}/%p.sock"], [PYTHON, "-u", "-c", REUSEPORT_SERVER, "8082", "one", "3"])
    assert server.out.wait_for("listening 3\n", 15)
    assert [ask(tmp_path / "8082.sock") for _ in range(3)] == [b"one"] * 3


def test_second_process_with_reuseport_takes_over(tmp_path: Path, runner: Runner) -> None:
    rule = f"in,path={tmp_path}/%p.sock"
    path = tmp_path / "8083.sock"
    first = runner.start([rule], [PYTHON, "-u", "-c", REUSEPORT_SERVER, "8083", "first", "1"])
    wait_socket(path, first)
    assert ask(path) == b"first"
    second = runner.start([rule], [PYTHON, "-u", "-c", REUSEPORT_SERVER, "8083", "second", "1"])
    assert second.out.wait_for("listening 1\n", 15)
    assert [ask(path) for _ in range(5)] == [b"second"] * 5
    assert first.alive(), "the first server keeps running until it is told to stop"
    stop(first.proc)
    assert stat.S_ISSOCK(path.lstat().st_mode), "the first server's exit removed the second one's file"
    assert ask(path) == b"second"
    stop(second.proc)
    third = runner.start([rule], [PYTHON, "-u", "-c", REUSEPORT_SERVER, "8083", "third", "1"])
    assert third.out.wait_for("listening 1\n", 15)
    assert ask(path) == b"third"
    assert sorted(q.name for q in tmp_path.iterdir()) == ["8083.sock"], "a file was left beside it"


def test_reuseport_never_replaces_a_file_that_is_not_a_socket(tmp_path: Path) -> None:
    path = tmp_path / "8084.sock"
    path.write_text("a user's file\n")
    p = run([f"in,path={tmp_path}/%p.sock"], [PYTHON, "-c", REUSEPORT_SERVER, "8084", "x", "1"], timeout=30)
    assert p.returncode != 0 and b"Address already in use" in p.stderr, p.stderr.decode()
    assert path.read_text() == "a user's file\n"
    assert sorted(q.name for q in tmp_path.iterdir()) == ["8084.sock"], "a file was left beside it"
