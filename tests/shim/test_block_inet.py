"""UNSOCK_BLOCK_INET=1: connect or bind to an IPv4 address that is not
covered fails with EACCES. UNSOCK_BLOCK_INET6=1: socket(AF_INET6) fails with
EAFNOSUPPORT, as in the original. Covered addresses keep working."""

import errno
import socket

import pytest

from tests.shim.conftest import COVERED, REAL

PROBE = f"""
import errno, socket, sys
def attempt(f):
    try:
        f()
        return "ok"
    except OSError as e:
        return errno.errorcode[e.errno]
port = int(sys.argv[1])
print("connect-real", attempt(lambda: socket.create_connection(("{REAL}", port), timeout=5)))
print("bind-real", attempt(lambda: socket.socket().bind(("{REAL}", 0))))
print("bind-any", attempt(lambda: socket.socket().bind(("0.0.0.0", 0))))
def covered():
    s = socket.socket()
    s.bind(("{COVERED}", 0))
    s.listen()
    c = socket.create_connection(s.getsockname())
    a, _ = s.accept()
    c.sendall(b"x")
    assert a.recv(1) == b"x"
print("covered", attempt(covered))
print("inet6", attempt(lambda: socket.socket(socket.AF_INET6)))
print("unix", attempt(lambda: socket.socket(socket.AF_UNIX)))
"""


@pytest.fixture
def tcp_server():
    s = socket.socket()
    s.bind((REAL, 0))
    s.listen()
    yield s.getsockname()[1]
    s.close()


def results(unsock, port, **env):
    out = unsock.py(PROBE, str(port), env=unsock.env(**env))
    return dict(line.split() for line in out.splitlines())


def test_nothing_blocked_by_default(unsock, tcp_server):
    r = results(unsock, tcp_server)
    assert (r["connect-real"], r["bind-real"], r["bind-any"], r["covered"], r["inet6"]) == ("ok",) * 5


def test_block_inet(unsock, tcp_server):
    r = results(unsock, tcp_server, UNSOCK_BLOCK_INET="1")
    assert (r["connect-real"], r["bind-real"], r["bind-any"]) == ("EACCES",) * 3
    assert (r["covered"], r["inet6"], r["unix"]) == ("ok",) * 3


def test_block_inet6(unsock, tcp_server):
    r = results(unsock, tcp_server, UNSOCK_BLOCK_INET6="1")
    assert r["inet6"] == "EAFNOSUPPORT"
    assert (r["connect-real"], r["bind-real"], r["covered"], r["unix"]) == ("ok",) * 4


def test_block_both(unsock, tcp_server):
    r = results(unsock, tcp_server, UNSOCK_BLOCK_INET="1", UNSOCK_BLOCK_INET6="1")
    assert (r["connect-real"], r["bind-real"], r["inet6"]) == ("EACCES", "EACCES", "EAFNOSUPPORT")
    assert (r["covered"], r["unix"]) == ("ok", "ok")


def test_block_inet_in_c(unsock, cprog):
    """The errors as seen by C: exact errno values, and a malformed address
    still gets the kernel's EINVAL rather than EACCES."""
    out = unsock.prog(cprog("blockinet"), COVERED, REAL, env=unsock.env(UNSOCK_BLOCK_INET="1",
                                                                          UNSOCK_BLOCK_INET6="1"))
    assert out.split() == [f"connect={errno.EACCES}", f"bind={errno.EACCES}", f"short={errno.EINVAL}",
                           f"inet6={errno.EAFNOSUPPORT}", "covered=0"]
