"""NULL, short, zero, negative and long address arguments of accept, accept4,
getsockname and getpeername behave on converted sockets exactly as on TCP
(the original crashed Node.js on accept4(fd, NULL, NULL, 0))."""

from tests.shim.conftest import COVERED, REAL


def test_address_arguments_as_the_kernel(unsock, cprog):
    # addrs compares every address with loopback TCP's, the client's too
    env = unsock.env(UNSOCK_PEER_LOOPBACK="1")
    assert unsock.prog(cprog("addrs"), COVERED, REAL, env=env).strip() == "ok"
