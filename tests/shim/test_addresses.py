"""accept, getsockname, getpeername, recvfrom and recvmsg show a program the
same AF_INET picture of a converted connection as of a loopback TCP one."""

import sys

from tests.helpers.shim import PROGS
from tests.shim.conftest import COVERED, REAL


def picture(unsock, ip, **env):
    return unsock.run([sys.executable, str(PROGS / "addresses.py"), ip], env=unsock.env(**env)).stdout.decode()


def test_same_picture_as_tcp(unsock):
    real = picture(unsock, COVERED, LD_PRELOAD="")
    shimmed = picture(unsock, COVERED)
    assert shimmed == real
    assert "AF_UNIX" not in shimmed and "/" not in shimmed


def test_same_picture_in_a_wide_range(unsock):
    """With a /8 range the peers show 127.0.0.1, as on loopback TCP, not the
    range's network address."""
    real = picture(unsock, "127.0.0.3", LD_PRELOAD="")
    assert picture(unsock, "127.0.0.3", UNSOCK_ADDR="127.0.0.0/8") == real
    assert "127.0.0.0" not in real


def test_ipv4_address_on_another_family(unsock, cprog):
    """A covered sockaddr_in given to an AF_UNIX or AF_INET6 socket gets the
    same error as an uncovered one: the kernel's, no conversion."""
    assert unsock.prog(cprog("wrongfamily"), COVERED, REAL).strip() == "ok"
