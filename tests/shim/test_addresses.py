"""accept, getsockname, getpeername, recvfrom and recvmsg show a program the
same AF_INET picture of a converted connection as of a loopback TCP one, but
for the client's address: both ends see the address made of the client's pid
(127.X.Y.Z, X.Y.Z the pid) where TCP shows 127.0.0.1 to every client, except
toward 127.0.0.1 and ::1 themselves, where the picture is TCP's."""

import re

from tests.helpers.shim import as_on_tcp, client_address, picture
from tests.shim.conftest import COVERED, REAL


def test_same_picture_as_tcp(unsock):
    real = picture(unsock, COVERED, LD_PRELOAD="")
    shimmed = picture(unsock, COVERED)
    assert shimmed.count(f"'{client_address(shimmed)}'") == 3, "accept, the client and the server agree"
    assert as_on_tcp(shimmed) == as_on_tcp(real)
    assert "AF_UNIX" not in shimmed and "/" not in shimmed


def test_same_picture_in_a_wide_range(unsock):
    """With a /8 range the listener keeps its address, not the range's network address."""
    real = picture(unsock, "127.0.0.3", LD_PRELOAD="")
    shimmed = picture(unsock, "127.0.0.3", UNSOCK_ADDR="127.0.0.0/8")
    assert as_on_tcp(shimmed) == as_on_tcp(real)
    assert "127.0.0.0" not in real


def test_toward_127_0_0_1_the_picture_is_tcp_s(unsock):
    """Programs that let in exactly 127.0.0.1 (or ::1) keep doing so."""
    for ip, covered in (("127.0.0.1", "127.0.0.1/32"), ("::1", "::1/128")):
        real = picture(unsock, ip, LD_PRELOAD="")
        shimmed = picture(unsock, ip, UNSOCK_ADDR=covered)
        assert re.sub(r"pid \d+", "", shimmed) == re.sub(r"pid \d+", "", real), ip


def test_ipv4_address_on_another_family(unsock, cprog):
    """A covered sockaddr_in given to an AF_UNIX or AF_INET6 socket gets the
    same error as an uncovered one: the kernel's, no conversion."""
    assert unsock.prog(cprog("wrongfamily"), COVERED, REAL).strip() == "ok"
