"""NULL, short, zero, negative and long address arguments of accept, accept4,
getsockname and getpeername behave on converted sockets exactly as on TCP
(the original crashed Node.js on accept4(fd, NULL, NULL, 0))."""

from tests.shim.conftest import COVERED, REAL


def test_address_arguments_as_the_kernel(unsock, cprog):
    assert unsock.prog(cprog("addrs"), COVERED, REAL).strip() == "ok"
