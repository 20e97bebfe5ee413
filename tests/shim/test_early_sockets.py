"""Early sockets (src/preload/early.h): under the rules that convert it, socket() gives a unix
socket at once, and until its address is known the program cannot tell it from the TCP socket it
asked for. fresh.c makes every call a program can make on a stream socket before bind or connect
(options and their defaults, names, flags, fstat, poll, ioctls, shutdown, send and receive,
accept, listen without bind, refused values) and reads options set before connect after it; the
shim must print exactly what real TCP prints, with early sockets and with UNSOCK_IP_AT_SOCKET=1."""

from __future__ import annotations

import pytest

from tests.shim.conftest import COVERED
from tests.shim.test_ipv6 import IS_UNIX


@pytest.mark.parametrize("family", ["inet", "inet6"])
def test_a_socket_before_its_address_is_tcp_s(unsock, cprog, family):
    probe = cprog("fresh")
    real = unsock.prog(probe, family, COVERED, "7950", env=unsock.env(LD_PRELOAD="")).splitlines()
    early = unsock.prog(probe, family, COVERED, "7952", env=unsock.env(UNSOCK_IP_AT_SOCKET="0")).splitlines()
    late = unsock.prog(probe, family, COVERED, "7954", env=unsock.env(UNSOCK_IP_AT_SOCKET="1")).splitlines()
    assert (real[-1], early[-1], late[-1]) == ("early 0", "early 1", "early 0")
    assert early[:-1] == real[:-1]
    assert late[:-1] == real[:-1]


def test_prediction_follows_what_the_last_connect_became(unsock):
    """A socket is made early while the last stream connect of its family was converted; after
    one left alone (an address no rule covers), the next socket is the IP one from the start."""
    out = unsock.py(IS_UNIX + f"""
l = socket.socket(); l.bind(("{COVERED}", 0)); l.listen()
seen = []
for target in [l.getsockname(), ("127.0.0.1", 9), ("127.0.0.1", 9), l.getsockname(), l.getsockname()]:
    s = socket.socket()
    seen.append(is_unix(s))
    s.connect_ex(target)
    s.close()
print(*seen)
""", env=unsock.env(UNSOCK_IP_AT_SOCKET="0"))
    assert out.split() == ["True", "True", "False", "False", "True"]
